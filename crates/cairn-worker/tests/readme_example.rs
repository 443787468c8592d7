//! The README's library example is an excerpt of `examples/greet.rs`, which `cargo test`
//! compiles: this keeps the two from drifting apart.

#[test]
fn the_readme_library_example_is_the_compiled_example() {
    let readme = include_str!("../../../README.md");
    let example = include_str!("../examples/greet.rs");
    let section = readme
        .split("### The Rust library")
        .nth(1)
        .expect("README has a \"The Rust library\" section");
    let snippet = section
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section has a rust code block");
    let example_lines: Vec<&str> = example.lines().map(str::trim).collect();
    let mut from = 0;
    for line in snippet.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match example_lines[from..].iter().position(|l| *l == line) {
            Some(at) => from += at + 1,
            None => panic!("README line not found, in order, in examples/greet.rs: {line}"),
        }
    }
}
