//! The README's library example is this example's `main.rs`, word for word.

#[test]
fn the_readme_shows_main_rs_as_it_is() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("## Using grpckit as a library")
        .nth(1)
        .expect("README section");
    let block = section
        .split("```rust,ignore\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("rust block");
    let main: String = include_str!("../src/main.rs")
        .lines()
        .filter(|l| !l.starts_with("//!"))
        .skip_while(|l| l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(block, main);
}
