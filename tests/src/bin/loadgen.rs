//! `cargo run --release -p tests --bin loadgen -- --help`: see `tests::loadgen`.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    tests::loadgen::main_with(tests::loadgen::Options::parse())
}
