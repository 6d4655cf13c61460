//! The `bac-metrics` binary: configuration → telemetry → the command asked for.

use clap::Parser;

/// mimalloc instead of the system allocator: measured in BENCHMARKS.md (issue 15), the record
/// page's profile was a quarter allocation under glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = bac_metrics::cli::Cli::parse();
    let config = if cli.is_demo() {
        bac_metrics::config::Config::from_env_for_demo()?
    } else {
        bac_metrics::config::Config::from_env()?
    };
    // Dropped last, so the spans of the final requests are sent before the process exits.
    let _telemetry = bac_metrics::telemetry::init(&config);
    bac_metrics::cli::run(cli, config)
}
