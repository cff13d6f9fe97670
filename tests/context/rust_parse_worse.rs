fn main() {
    let a = 1;
    $0
}
