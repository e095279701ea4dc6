//! `warren-perf`: load generator for AMQP 0-9-1 and MQTT brokers (see the library docs).

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use warren_perf::stats::Report;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "warren-perf",
    version,
    about = "Load generator for AMQP 0-9-1 and MQTT brokers: throughput, latency, loss checks"
)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// AMQP 0-9-1 producers -> exchange -> queues -> consumers.
    Amqp(warren_perf::amqp::AmqpArgs),
    /// MQTT 3.1.1 publishers -> topics -> subscribers.
    Mqtt(warren_perf::mqtt::MqttArgs),
    /// Open N idle MQTT connections and hold them.
    MqttIdle(warren_perf::mqtt::MqttIdleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("warren-perf: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report: Report = runtime.block_on(async {
        match cli.mode {
            Mode::Amqp(a) => warren_perf::amqp::run(a).await,
            Mode::Mqtt(a) => warren_perf::mqtt::run(a).await,
            Mode::MqttIdle(a) => warren_perf::mqtt::run_idle(a).await,
        }
    });
    match serde_json::to_string(&report) {
        Ok(json) => println!("{json}"),
        Err(e) => eprintln!("warren-perf: cannot serialise the report: {e}"),
    }
    // Idle connections and aborted tasks: do not wait for them.
    runtime.shutdown_background();
    if report.ok {
        ExitCode::SUCCESS
    } else {
        for e in &report.errors {
            eprintln!("warren-perf: {e}");
        }
        if !report.check.is_clean() {
            eprintln!("warren-perf: check failed: {:?}", report.check);
        }
        ExitCode::FAILURE
    }
}
