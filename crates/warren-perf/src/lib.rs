//! `warren-perf`: a load generator for AMQP 0-9-1 and MQTT 3.1.1 brokers, and the library
//! behind it.
//!
//! It drives any broker that speaks those protocols (Warren, RabbitMQ, Mosquitto) with
//! scenarios in the spirit of RabbitMQ's PerfTest and emqtt-bench, and measures what it
//! claims: sent and received messages per second, latency percentiles from a timestamp in each
//! body (HDR histogram), and whether every message arrived exactly once and in order (a
//! sequence number per producer stream in each body). A run that loses, duplicates, reorders
//! or misroutes a message fails, except for loss where the scenario says loss is allowed
//! (MQTT QoS 0 with `--allow-loss`).
//!
//! The clients are small and written for throughput on top of Warren's own sans-IO codecs
//! (`warren-amqp`, `warren-mqtt`) and tokio: each publish is encoded once into a template and
//! copied with its stamp patched in, and many publishes go out per write.
//!
//! It is not a general client library: it opens one channel per connection, never
//! reconnects, and speaks only what its scenarios need.
//!
//! # Example
//!
//! The checks are plain data structures:
//!
//! ```
//! use warren_perf::check::Checker;
//! use warren_perf::stamp::Stamp;
//!
//! let mut body = vec![0u8; 32];
//! Stamp { stream: 0, seq: 0, sent_nanos: 0 }.write(&mut body);
//! let mut queue = Checker::new(true);
//! let s = Stamp::read(&body).unwrap();
//! queue.observe(s.stream, s.seq);
//! // One message was sent on stream 0, and stream 0 is routed to this queue.
//! assert!(queue.verdict(&[1], |_| true).is_clean());
//! ```
//!
//! From the command line (see `warren-perf --help`):
//!
//! ```text
//! warren-perf amqp --addr 127.0.0.1:5672 --size 1024 --duration 10
//! warren-perf amqp --confirm 100 --prefetch 100 --ack-every 50
//! warren-perf amqp --exchange-type fanout --queues 10
//! warren-perf mqtt --addr 127.0.0.1:1883 --qos 1 --publishers 10 --subscribers 10 --topics 10
//! warren-perf mqtt-idle --connections 10000 --hold 5
//! ```
//!
//! Every run prints a progress line per second on stderr and one JSON record
//! ([`stats::Report`]) on stdout; the exit status is non-zero when the run failed its checks.

pub mod amqp;
pub mod amqp_client;
pub mod check;
pub mod error;
pub mod mqtt;
pub mod routing;
pub mod runner;
pub mod stamp;
pub mod stats;

pub use error::PerfError;
