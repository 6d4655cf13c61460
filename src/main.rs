//! The `bac-metrics` binary: configuration → telemetry → the command asked for.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = bac_metrics::cli::Cli::parse();
    let config = if cli.is_demo() {
        bac_metrics::config::Config::from_env_for_demo()?
    } else {
        bac_metrics::config::Config::from_env()?
    };
    bac_metrics::telemetry::init(config.log_format);
    bac_metrics::cli::run(cli, config)
}
