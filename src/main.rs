//! The `tickstream` server binary: wiring only. Settings come from flags and environment
//! (`tickstream --help`); everything else lives in the library's `server` module.

/// The allocator: mimalloc, which gives back what a wave of connections took (the soak's
/// RSS after each wave, BENCHMARKS.md); a build without the `mimalloc` feature uses glibc's.
#[cfg(all(feature = "ssr", feature = "mimalloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    use clap::Parser;
    use tickstream::server::config::Config;
    use tickstream::server::shutdown;
    use tickstream::server::startup::{self, Server};
    use tokio_util::sync::CancellationToken;

    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tickstream=info".into()),
        )
        // A log line that cannot be written (nobody reads the pipe any more) is dropped.
        // Reporting it would `eprintln!` to the same closed pipe, which panics the task that
        // logged: the signal task, at shutdown (tests/it/shutdown.rs).
        .log_internal_errors(false)
        .init();

    // Bad flags print clap's message and exit with status 2.
    let config = Config::parse();
    let started = async {
        let leptos = startup::leptos_options(&config)?;
        let addr = config.addr.unwrap_or(leptos.site_addr);
        let token = CancellationToken::new();
        let assembled = startup::assemble(config, leptos, token.clone())?;
        tokio::spawn(shutdown::cancel_on_signal(token));
        Server::start(assembled, addr).await
    };
    let server = match started.await {
        Ok(server) => server,
        Err(err) => {
            say(&format!("tickstream: {err}"));
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!("serving the market on http://{}", server.addr);
    match server.task.await {
        Ok(Ok(())) => {
            tracing::info!("stopped");
            std::process::ExitCode::SUCCESS
        }
        Ok(Err(err)) => {
            say(&format!("tickstream: the server failed: {err}"));
            std::process::ExitCode::FAILURE
        }
        Err(err) => {
            say(&format!("tickstream: the server task failed: {err}"));
            std::process::ExitCode::FAILURE
        }
    }
}

/// Writes a line to stderr if anyone reads it (`eprintln!` would panic on a closed pipe).
#[cfg(feature = "ssr")]
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[cfg(not(feature = "ssr"))]
fn main() {
    // The binary is built with `--features ssr`; the browser build has no `main`.
}
