//! Placeholder, replaced by the sendMessage benchmark.
fn main() {}
