//! `warren`: the broker binary. `warren` runs the broker with the embedded default configuration;
//! `warren --config FILE` with a TOML configuration; `--definitions FILE` imports a RabbitMQ
//! `definitions.json` at boot.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use warren_server::config::Config;

/// Command line of the `warren` binary.
#[derive(Debug, Parser)]
#[command(
    name = "warren",
    version,
    about = "Warren: a multi-protocol message broker"
)]
struct Cli {
    /// TOML configuration file (default: the embedded configuration).
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// RabbitMQ definitions.json to import at boot (users, vhosts, permissions, topology).
    #[arg(long)]
    definitions: Option<PathBuf>,
    /// Override the AMQP listeners (repeatable), e.g. `--amqp-listen 127.0.0.1:5673`.
    #[arg(long = "amqp-listen")]
    amqp_listen: Vec<std::net::SocketAddr>,
    /// Run a management command against a running broker instead of starting one.
    #[command(subcommand)]
    command: Option<Command>,
}

/// Subcommands of `warren`.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// rabbitmqctl's commands (status, stop, list_queues, add_user, …) against a running
    /// broker, through its management API.
    Ctl(warren_server::ctl::CtlArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Ctl(args)) = cli.command {
        return warren_server::ctl::run(args);
    }
    let config = match &cli.config {
        Some(path) => Config::load(path),
        None => Config::embedded(),
    };
    let mut config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("warren: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !cli.amqp_listen.is_empty() {
        config.amqp.listeners = cli.amqp_listen.clone();
    }
    warren_server::logging::init(&config.log.level);
    match warren_server::run(config, cli.definitions.as_deref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("warren: {e}");
            ExitCode::FAILURE
        }
    }
}
