//! `xtask`: tickstream's own build commands (`cargo run -p xtask -- --help`).
//!
//! It works on the checkout it was built from (its `CARGO_MANIFEST_DIR`, known when it was
//! compiled), whatever the directory it is run from: a build tool of one project, never
//! installed elsewhere.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "tickstream's release build, without cargo-leptos")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the server and the site for release, as `cargo leptos build --release --split
    /// --precompress` does (settings from Cargo.toml's [package.metadata.leptos]).
    Build,
    /// Print a built site's files, hashes written `<hash>`, with their sizes, after a line
    /// naming the checkout's sources (which the site is taken to be built from).
    Manifest {
        /// The site root to list.
        #[arg(default_value = "target/site")]
        site: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The chain of causes, not a backtrace: what failed is a build step, not xtask.
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    // The workspace root: xtask lives in its `xtask/` directory.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    match command {
        Command::Build => xtask::build(&root),
        Command::Manifest { site } => {
            let site = if site.is_absolute() {
                site
            } else {
                root.join(site)
            };
            let sources = xtask::manifest::sources(&root)?;
            print!("{}", xtask::manifest::sources_line(&sources));
            print!(
                "{}",
                xtask::manifest::render(&xtask::manifest::list(&site)?)
            );
            Ok(())
        }
    }
}
