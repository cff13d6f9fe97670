/// Returns the sum of $0
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}
