fn f() {
	let a = 1;
	if a > 0 {$0
	}
}
