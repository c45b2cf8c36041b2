//! The `avisa` executable: parses the command line and hands over to `avisa::cli`.
#![forbid(unsafe_code)]

fn main() {}
