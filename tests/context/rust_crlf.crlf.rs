fn main() {
    let values = vec![1, 2, 3];
    let total: i32 = $0
}
