//! `warren ctl`: rabbitmqctl's everyday commands, talking to a running broker through its
//! management HTTP API.
//!
//! ```text
//! warren ctl status
//! warren ctl list_queues name messages_ready messages_unacknowledged
//! warren ctl -p /car2home list_bindings --formatter json
//! warren ctl add_user alice s3cret && warren ctl set_user_tags alice management
//! warren ctl stop
//! ```
//!
//! Output is a tab-separated table with a header (after an informational line unless
//! `--quiet`), or `--formatter json`. Column names are rabbitmqctl's. Exit codes follow
//! rabbitmqctl: 0 success, 64 usage, 65 data error (the broker refused), 69 broker unreachable,
//! 70 internal error.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Formatter {
    /// Tab-separated columns with a header line.
    Table,
    /// A JSON array of objects (or an object).
    Json,
}

/// `warren ctl`'s options and command.
#[derive(Debug, clap::Args)]
pub struct CtlArgs {
    /// The management API of the broker.
    #[arg(long, default_value = "http://localhost:15672", global = true)]
    pub url: String,
    /// User name (needs a management tag; administrator for user/vhost changes).
    #[arg(long, default_value = "guest", global = true)]
    pub user: String,
    /// Password.
    #[arg(long, default_value = "guest", global = true)]
    pub password: String,
    /// The vhost the command applies to (rabbitmqctl's `-p`).
    #[arg(short = 'p', long = "vhost", default_value = "/", global = true)]
    pub vhost: String,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table", global = true)]
    pub formatter: Formatter,
    /// Leave out informational lines.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Seconds to wait for the broker.
    #[arg(long, short = 't', default_value_t = 60, global = true)]
    pub timeout: u64,
    /// The command.
    #[command(subcommand)]
    pub command: CtlCommand,
}

/// The commands (rabbitmqctl's names).
#[derive(Debug, clap::Subcommand)]
#[command(rename_all = "snake_case")]
pub enum CtlCommand {
    /// Broker status: version, listeners, totals.
    Status,
    /// Stops the broker (POST /api/warren/shutdown; needs administrator).
    Stop,
    /// Queues with the given columns (default: name messages).
    ListQueues {
        /// Columns, e.g. name messages_ready messages_unacknowledged consumers.
        columns: Vec<String>,
    },
    /// Exchanges (default columns: name type).
    ListExchanges {
        /// Columns.
        columns: Vec<String>,
    },
    /// Bindings (default: source_name source_kind destination_name destination_kind routing_key arguments).
    ListBindings {
        /// Columns.
        columns: Vec<String>,
    },
    /// Connections (default: user peer_host peer_port state).
    ListConnections {
        /// Columns.
        columns: Vec<String>,
    },
    /// Channels (default: pid user consumer_count messages_unacknowledged).
    ListChannels {
        /// Columns.
        columns: Vec<String>,
    },
    /// Consumers (default: queue_name channel_pid consumer_tag ack_required prefetch_count active arguments).
    ListConsumers {
        /// Columns.
        columns: Vec<String>,
    },
    /// Users and their tags.
    ListUsers,
    /// Vhosts (default column: name).
    ListVhosts {
        /// Columns.
        columns: Vec<String>,
    },
    /// Permissions in the vhost.
    ListPermissions,
    /// Creates a user with a password (no tags).
    AddUser {
        /// Name.
        username: String,
        /// Password.
        #[arg(id = "new_password", value_name = "PASSWORD")]
        password: String,
    },
    /// Deletes a user.
    DeleteUser {
        /// Name.
        username: String,
    },
    /// Changes a user's password.
    ChangePassword {
        /// Name.
        username: String,
        /// New password.
        #[arg(id = "new_password", value_name = "PASSWORD")]
        password: String,
    },
    /// Replaces a user's tags.
    SetUserTags {
        /// Name.
        username: String,
        /// Tags (none clears them).
        tags: Vec<String>,
    },
    /// Sets a user's permissions in the vhost.
    SetPermissions {
        /// Name.
        username: String,
        /// Configure regex.
        conf: String,
        /// Write regex.
        write: String,
        /// Read regex.
        read: String,
    },
    /// Removes a user's permissions in the vhost.
    ClearPermissions {
        /// Name.
        username: String,
    },
    /// Creates a vhost.
    AddVhost {
        /// Name.
        #[arg(id = "vhost_name", value_name = "VHOST")]
        vhost: String,
    },
    /// Deletes a vhost and everything in it.
    DeleteVhost {
        /// Name.
        #[arg(id = "vhost_name", value_name = "VHOST")]
        vhost: String,
    },
    /// Drops a queue's ready messages.
    PurgeQueue {
        /// Queue name.
        queue: String,
    },
    /// Deletes a queue.
    DeleteQueue {
        /// Queue name.
        queue: String,
        /// Only if it has no consumers.
        #[arg(long, short = 'u')]
        if_unused: bool,
        /// Only if it has no messages.
        #[arg(long, short = 'e')]
        if_empty: bool,
    },
    /// Writes the definitions (RabbitMQ's format) to a file, or stdout for `-`.
    ExportDefinitions {
        /// File path or `-`.
        path: String,
    },
    /// Imports definitions from a file, or stdin for `-`.
    ImportDefinitions {
        /// File path or `-`.
        path: String,
    },
}

/// Why a ctl command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CtlError {
    /// The broker could not be reached.
    #[error("unable to reach the broker at {url}: {reason}")]
    Unreachable {
        /// The API URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The broker answered with an error.
    #[error("{status} {error}: {reason}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// RabbitMQ's `error` word.
        error: String,
        /// RabbitMQ's `reason`.
        reason: String,
    },
    /// A file could not be read or written, or its content is not JSON.
    #[error("{0}")]
    Io(String),
}

impl CtlError {
    fn exit_code(&self) -> u8 {
        match self {
            CtlError::Unreachable { .. } => 69,
            CtlError::Refused { .. } | CtlError::Io(_) => 65,
        }
    }
}

/// Percent-encodes one path segment (`/` becomes `%2F`, as RabbitMQ's API expects).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Client {
    base: String,
    auth: String,
    agent: ureq::Agent,
}

impl Client {
    fn new(args: &CtlArgs) -> Client {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", args.user, args.password));
        Client {
            base: args.url.trim_end_matches('/').to_owned(),
            auth: format!("Basic {auth}"),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(args.timeout))
                .build(),
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, CtlError> {
        let url = format!("{}{path}", self.base);
        let req = self
            .agent
            .request(method, &url)
            .set("Authorization", &self.auth)
            .set("Content-Type", "application/json");
        let resp = match body {
            Some(b) => req.send_string(&b.to_string()),
            None => req.call(),
        };
        match resp {
            Ok(r) => {
                let text = r.into_string().map_err(|e| CtlError::Io(e.to_string()))?;
                if text.trim().is_empty() {
                    Ok(Value::Null)
                } else {
                    serde_json::from_str(&text)
                        .map_err(|e| CtlError::Io(format!("bad JSON from the broker: {e}")))
                }
            }
            Err(ureq::Error::Status(status, r)) => {
                let v: Value = r.into_json().unwrap_or(Value::Null);
                Err(CtlError::Refused {
                    status,
                    error: v["error"].as_str().unwrap_or("error").to_owned(),
                    reason: v["reason"].as_str().unwrap_or("").to_owned(),
                })
            }
            Err(e) => Err(CtlError::Unreachable {
                url: self.base.clone(),
                reason: e.to_string(),
            }),
        }
    }
}

/// rabbitmqctl column name -> path in the API object.
fn api_path(kind: &str, column: &str) -> String {
    let mapped = match (kind, column) {
        ("bindings", "source_name") => "source",
        ("bindings", "destination_name") => "destination",
        ("bindings", "destination_kind") => "destination_type",
        ("channels", "pid") | ("connections", "pid") => "name",
        ("channels", "connection") => "connection_details.name",
        ("consumers", "queue_name") => "queue.name",
        ("consumers", "channel_pid") => "channel_details.name",
        ("users", "user") | ("permissions", "user") => {
            return if kind == "users" {
                "name".into()
            } else {
                "user".into()
            }
        }
        _ => column,
    };
    mapped.to_owned()
}

fn lookup(v: &Value, path: &str, kind: &str, column: &str) -> Value {
    if kind == "bindings" && column == "source_kind" {
        return json!("exchange");
    }
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .cloned()
        .unwrap_or(Value::Null)
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) if a.iter().all(Value::is_string) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

/// Renders rows for `kind` with rabbitmqctl column names.
pub fn render_rows(
    kind: &str,
    items: &[Value],
    columns: &[String],
    formatter: Formatter,
) -> String {
    match formatter {
        Formatter::Json => {
            let rows: Vec<Value> = items
                .iter()
                .map(|i| {
                    let mut o = serde_json::Map::new();
                    for c in columns {
                        o.insert(c.clone(), lookup(i, &api_path(kind, c), kind, c));
                    }
                    Value::Object(o)
                })
                .collect();
            format!("{}\n", Value::Array(rows))
        }
        Formatter::Table => {
            let mut out = columns.join("\t");
            out.push('\n');
            for i in items {
                let row: Vec<String> = columns
                    .iter()
                    .map(|c| cell(&lookup(i, &api_path(kind, c), kind, c)))
                    .collect();
                out.push_str(&row.join("\t"));
                out.push('\n');
            }
            out
        }
    }
}

fn defaults(columns: &[String], default: &[&str]) -> Vec<String> {
    if columns.is_empty() {
        default.iter().map(|c| (*c).to_owned()).collect()
    } else {
        columns.to_vec()
    }
}

/// Runs one command; prints its output; returns the process exit code.
pub fn run(args: CtlArgs) -> ExitCode {
    match execute(&args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs one command and returns what it prints.
pub fn execute(args: &CtlArgs) -> Result<String, CtlError> {
    let c = Client::new(args);
    let vh = encode_segment(&args.vhost);
    let info = |line: String| -> String {
        if args.quiet || args.formatter == Formatter::Json {
            String::new()
        } else {
            format!("{line}\n")
        }
    };
    let list = |kind: &str, path: &str, what: &str, columns: &[String], default: &[&str]| {
        let items = c.call("GET", path, None)?;
        let items = items.as_array().cloned().unwrap_or_default();
        let columns = defaults(columns, default);
        Ok::<String, CtlError>(
            info(format!("Listing {what} ..."))
                + &render_rows(kind, &items, &columns, args.formatter),
        )
    };
    use CtlCommand as C;
    match &args.command {
        C::Status => {
            let o = c.call("GET", "/api/overview", None)?;
            if args.formatter == Formatter::Json {
                return Ok(format!("{o}\n"));
            }
            let mut out = info(format!("Status of node {} ...", cell(&o["node"])));
            out.push_str(&format!(
                "Product: {} {} (RabbitMQ management API {})\n",
                cell(&o["product_name"]),
                cell(&o["product_version"]),
                cell(&o["rabbitmq_version"])
            ));
            out.push_str("Listeners:\n");
            for l in o["listeners"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "  {}: {}:{}\n",
                    cell(&l["protocol"]),
                    cell(&l["ip_address"]),
                    cell(&l["port"])
                ));
            }
            out.push_str("Totals:\n");
            for k in [
                "connections",
                "channels",
                "exchanges",
                "queues",
                "consumers",
            ] {
                out.push_str(&format!("  {k}: {}\n", cell(&o["object_totals"][k])));
            }
            for k in ["messages", "messages_ready", "messages_unacknowledged"] {
                out.push_str(&format!("  {k}: {}\n", cell(&o["queue_totals"][k])));
            }
            Ok(out)
        }
        C::Stop => {
            c.call("POST", "/api/warren/shutdown", Some(&json!({})))?;
            Ok(info("Stopping the broker ...".into()))
        }
        C::ListQueues { columns } => list(
            "queues",
            &format!("/api/queues/{vh}"),
            &format!("queues for vhost {}", args.vhost),
            columns,
            &["name", "messages"],
        ),
        C::ListExchanges { columns } => list(
            "exchanges",
            &format!("/api/exchanges/{vh}"),
            &format!("exchanges for vhost {}", args.vhost),
            columns,
            &["name", "type"],
        ),
        C::ListBindings { columns } => list(
            "bindings",
            &format!("/api/bindings/{vh}"),
            &format!("bindings for vhost {}", args.vhost),
            columns,
            &[
                "source_name",
                "source_kind",
                "destination_name",
                "destination_kind",
                "routing_key",
                "arguments",
            ],
        ),
        C::ListConnections { columns } => list(
            "connections",
            "/api/connections",
            "connections",
            columns,
            &["user", "peer_host", "peer_port", "state"],
        ),
        C::ListChannels { columns } => list(
            "channels",
            "/api/channels",
            "channels",
            columns,
            &["pid", "user", "consumer_count", "messages_unacknowledged"],
        ),
        C::ListConsumers { columns } => list(
            "consumers",
            &format!("/api/consumers/{vh}"),
            &format!("consumers in vhost {}", args.vhost),
            columns,
            &[
                "queue_name",
                "channel_pid",
                "consumer_tag",
                "ack_required",
                "prefetch_count",
                "active",
                "arguments",
            ],
        ),
        C::ListUsers => list("users", "/api/users", "users", &[], &["user", "tags"]),
        C::ListVhosts { columns } => list("vhosts", "/api/vhosts", "vhosts", columns, &["name"]),
        C::ListPermissions => list(
            "permissions",
            &format!("/api/vhosts/{vh}/permissions"),
            &format!("permissions for vhost \"{}\"", args.vhost),
            &[],
            &["user", "configure", "write", "read"],
        ),
        C::AddUser { username, password } => {
            let path = format!("/api/users/{}", encode_segment(username));
            if c.call("GET", &path, None).is_ok() {
                return Err(CtlError::Refused {
                    status: 409,
                    error: "user_already_exists".into(),
                    reason: username.clone(),
                });
            }
            c.call(
                "PUT",
                &path,
                Some(&json!({"password": password, "tags": ""})),
            )?;
            Ok(info(format!("Adding user \"{username}\" ...")))
        }
        C::DeleteUser { username } => {
            c.call(
                "DELETE",
                &format!("/api/users/{}", encode_segment(username)),
                None,
            )?;
            Ok(info(format!("Deleting user \"{username}\" ...")))
        }
        C::ChangePassword { username, password } => {
            let path = format!("/api/users/{}", encode_segment(username));
            let u = c.call("GET", &path, None)?;
            c.call(
                "PUT",
                &path,
                Some(&json!({"password": password, "tags": u["tags"]})),
            )?;
            Ok(info(format!(
                "Changing password for user \"{username}\" ..."
            )))
        }
        C::SetUserTags { username, tags } => {
            let path = format!("/api/users/{}", encode_segment(username));
            let u = c.call("GET", &path, None)?;
            let mut body = json!({"tags": tags.join(",")});
            if let Some(h) = u["password_hash"].as_str() {
                body["password_hash"] = json!(h);
                body["hashing_algorithm"] = u["hashing_algorithm"].clone();
            }
            c.call("PUT", &path, Some(&body))?;
            Ok(info(format!(
                "Setting tags for user \"{username}\" to [{}] ...",
                tags.join(", ")
            )))
        }
        C::SetPermissions {
            username,
            conf,
            write,
            read,
        } => {
            c.call(
                "PUT",
                &format!("/api/permissions/{vh}/{}", encode_segment(username)),
                Some(&json!({"configure": conf, "write": write, "read": read})),
            )?;
            Ok(info(format!(
                "Setting permissions for user \"{username}\" in vhost \"{}\" ...",
                args.vhost
            )))
        }
        C::ClearPermissions { username } => {
            c.call(
                "DELETE",
                &format!("/api/permissions/{vh}/{}", encode_segment(username)),
                None,
            )?;
            Ok(info(format!(
                "Clearing permissions for user \"{username}\" in vhost \"{}\" ...",
                args.vhost
            )))
        }
        C::AddVhost { vhost } => {
            c.call(
                "PUT",
                &format!("/api/vhosts/{}", encode_segment(vhost)),
                Some(&json!({})),
            )?;
            Ok(info(format!("Adding vhost \"{vhost}\" ...")))
        }
        C::DeleteVhost { vhost } => {
            c.call(
                "DELETE",
                &format!("/api/vhosts/{}", encode_segment(vhost)),
                None,
            )?;
            Ok(info(format!("Deleting vhost \"{vhost}\" ...")))
        }
        C::PurgeQueue { queue } => {
            c.call(
                "DELETE",
                &format!("/api/queues/{vh}/{}/contents", encode_segment(queue)),
                None,
            )?;
            Ok(info(format!(
                "Purging queue '{queue}' in vhost '{}' ...",
                args.vhost
            )))
        }
        C::DeleteQueue {
            queue,
            if_unused,
            if_empty,
        } => {
            c.call(
                "DELETE",
                &format!(
                    "/api/queues/{vh}/{}?if-unused={if_unused}&if-empty={if_empty}",
                    encode_segment(queue)
                ),
                None,
            )?;
            Ok(info(format!(
                "Deleting queue '{queue}' on vhost '{}' ...",
                args.vhost
            )))
        }
        C::ExportDefinitions { path } => {
            let defs = c.call("GET", "/api/definitions", None)?;
            let text =
                serde_json::to_string_pretty(&defs).map_err(|e| CtlError::Io(e.to_string()))?;
            if path == "-" {
                return Ok(format!("{text}\n"));
            }
            std::fs::write(path, text).map_err(|e| CtlError::Io(format!("{path}: {e}")))?;
            Ok(info(format!(
                "Exported definitions for virtual hosts to \"{path}\""
            )))
        }
        C::ImportDefinitions { path } => {
            let text = if path == "-" {
                std::io::read_to_string(std::io::stdin())
                    .map_err(|e| CtlError::Io(e.to_string()))?
            } else {
                std::fs::read_to_string(path).map_err(|e| CtlError::Io(format!("{path}: {e}")))?
            };
            let defs: Value =
                serde_json::from_str(&text).map_err(|e| CtlError::Io(format!("{path}: {e}")))?;
            c.call("POST", "/api/definitions", Some(&defs))?;
            Ok(info(format!(
                "Importing definitions in JSON from \"{path}\" ..."
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Top {
        #[command(flatten)]
        ctl: CtlArgs,
    }

    #[test]
    fn positional_names_do_not_collide_with_global_options() {
        use clap::Parser as _;
        let t = Top::try_parse_from(["ctl", "--password", "admin-pw", "add_user", "bob", "bob-pw"])
            .unwrap();
        assert_eq!(t.ctl.password, "admin-pw");
        assert!(
            matches!(t.ctl.command, CtlCommand::AddUser { ref password, .. } if password == "bob-pw")
        );
        let t = Top::try_parse_from(["ctl", "-p", "/", "add_vhost", "v1"]).unwrap();
        assert_eq!(t.ctl.vhost, "/");
        assert!(matches!(t.ctl.command, CtlCommand::AddVhost { ref vhost } if vhost == "v1"));
    }

    #[test]
    fn segments_are_percent_encoded() {
        assert_eq!(encode_segment("/"), "%2F");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(encode_segment("car-1.q_x~"), "car-1.q_x~");
    }

    #[test]
    fn rows_use_rabbitmqctl_column_names() {
        let items = vec![
            json!({"source": "webos.topic", "destination": "car", "destination_type": "queue",
                                "routing_key": "webos.car.#", "arguments": {}}),
        ];
        let cols: Vec<String> = [
            "source_name",
            "source_kind",
            "destination_name",
            "routing_key",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let t = render_rows("bindings", &items, &cols, Formatter::Table);
        assert_eq!(
            t,
            "source_name\tsource_kind\tdestination_name\trouting_key\nwebos.topic\texchange\tcar\twebos.car.#\n"
        );
        let j: Value =
            serde_json::from_str(&render_rows("bindings", &items, &cols, Formatter::Json)).unwrap();
        assert_eq!(j[0]["destination_name"], json!("car"));
        let users = vec![json!({"name": "guest", "tags": ["administrator", "x"]})];
        let t = render_rows(
            "users",
            &users,
            &["user".into(), "tags".into()],
            Formatter::Table,
        );
        assert_eq!(t, "user\ttags\nguest\tadministrator,x\n");
    }
}
