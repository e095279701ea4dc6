//! Exchanges: kinds, flags, bindings and routing through the `warren-topic` tables (and the
//! headers matcher).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;
use warren_topic::{DirectTable, FanoutTable, PatternError, RoutingTable, TopicTable};

use crate::error::CoreError;
use crate::headers::{headers_match, XMatch};
use crate::policy::ExchangePolicy;
use crate::value::FieldTable;

/// The exchange types the core implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExchangeKind {
    /// Exact routing-key match.
    Direct,
    /// Every bound destination.
    Fanout,
    /// AMQP topic patterns (`*` one word, `#` zero or more).
    Topic,
    /// Header matching with `x-match`.
    Headers,
}

impl ExchangeKind {
    /// The AMQP type name (`direct`, `fanout`, `topic`, `headers`).
    pub fn name(self) -> &'static str {
        match self {
            ExchangeKind::Direct => "direct",
            ExchangeKind::Fanout => "fanout",
            ExchangeKind::Topic => "topic",
            ExchangeKind::Headers => "headers",
        }
    }

    /// Parses a type name; an unknown one is RabbitMQ's 503 `invalid exchange type`.
    pub fn parse(name: &str) -> Result<ExchangeKind, CoreError> {
        match name {
            "direct" => Ok(ExchangeKind::Direct),
            "fanout" => Ok(ExchangeKind::Fanout),
            "topic" => Ok(ExchangeKind::Topic),
            "headers" => Ok(ExchangeKind::Headers),
            other => Err(CoreError::InvalidExchangeType(other.to_owned())),
        }
    }
}

impl fmt::Display for ExchangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a binding sends messages: a queue or (exchange-to-exchange binding) another exchange.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    /// A queue, by name.
    Queue(Arc<str>),
    /// An exchange, by name.
    Exchange(Arc<str>),
}

impl Destination {
    /// The destination's name.
    pub fn name(&self) -> &str {
        match self {
            Destination::Queue(n) | Destination::Exchange(n) => n,
        }
    }
}

/// The properties an exchange is declared with.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeOptions {
    /// The type.
    pub kind: ExchangeKind,
    /// Survives a restart (recorded now; persistence comes with the durability work).
    pub durable: bool,
    /// Deleted when its last binding (as a source) goes.
    pub auto_delete: bool,
    /// Clients cannot publish to it; only exchange-to-exchange bindings feed it.
    pub internal: bool,
    /// Declare arguments (`alternate-exchange` is compared on redeclare).
    pub arguments: FieldTable,
}

impl ExchangeOptions {
    /// Non-durable, not auto-delete, not internal, no arguments.
    pub fn new(kind: ExchangeKind) -> ExchangeOptions {
        ExchangeOptions {
            kind,
            durable: false,
            auto_delete: false,
            internal: false,
            arguments: FieldTable::new(),
        }
    }

    /// Sets `durable`.
    pub fn durable(mut self, durable: bool) -> ExchangeOptions {
        self.durable = durable;
        self
    }

    /// Sets `auto_delete`.
    pub fn auto_delete(mut self, auto_delete: bool) -> ExchangeOptions {
        self.auto_delete = auto_delete;
        self
    }

    /// Sets `internal`.
    pub fn internal(mut self, internal: bool) -> ExchangeOptions {
        self.internal = internal;
        self
    }
}

/// One binding as listed for management and definitions export.
#[derive(Debug, Clone, PartialEq)]
pub struct BindingInfo {
    /// The source exchange.
    pub source: String,
    /// The destination.
    pub destination: Destination,
    /// The routing key (pattern).
    pub routing_key: String,
    /// The binding arguments.
    pub arguments: FieldTable,
}

#[derive(Debug)]
struct HeadersBinding {
    destination: Destination,
    mode: XMatch,
    arguments: FieldTable,
}

#[derive(Debug)]
enum Table {
    Direct(DirectTable<Destination>),
    Fanout(FanoutTable<Destination>),
    Topic(TopicTable<Destination>),
    Headers(Vec<HeadersBinding>),
}

#[derive(Debug)]
struct Routing {
    table: Table,
    /// Binding identity: (destination, key) -> the distinct argument tables bound with it.
    bindings: HashMap<(Destination, String), Vec<FieldTable>>,
    /// Number of (destination, key, arguments) bindings.
    count: usize,
}

/// An exchange. Shared as `Arc<Exchange>`; its routing state sits behind its own read-mostly lock.
#[derive(Debug)]
pub struct Exchange {
    name: Arc<str>,
    options: ExchangeOptions,
    routing: RwLock<Routing>,
    /// The check published messages must pass (see [`crate::policy`]); read once per publish.
    policy: RwLock<Option<Arc<ExchangePolicy>>>,
}

impl Exchange {
    pub(crate) fn new(name: Arc<str>, options: ExchangeOptions) -> Exchange {
        let table = match options.kind {
            ExchangeKind::Direct => Table::Direct(DirectTable::new()),
            ExchangeKind::Fanout => Table::Fanout(FanoutTable::new()),
            ExchangeKind::Topic => Table::Topic(TopicTable::new()),
            ExchangeKind::Headers => Table::Headers(Vec::new()),
        };
        Exchange {
            name,
            options,
            routing: RwLock::new(Routing {
                table,
                bindings: HashMap::new(),
                count: 0,
            }),
            policy: RwLock::new(None),
        }
    }

    /// The policy published messages must pass, if any (set with
    /// [`crate::VHost::set_exchange_policy`]).
    pub fn policy(&self) -> Option<Arc<ExchangePolicy>> {
        self.policy.read().clone()
    }

    pub(crate) fn set_policy(&self, policy: Option<Arc<ExchangePolicy>>) {
        *self.policy.write() = policy;
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn name_arc(&self) -> &Arc<str> {
        &self.name
    }

    /// The declared properties.
    pub fn options(&self) -> &ExchangeOptions {
        &self.options
    }

    /// Number of bindings with this exchange as source.
    pub fn binding_count(&self) -> usize {
        self.routing.read().count
    }

    /// Adds a binding; `Ok(false)` when an identical one exists (binding is idempotent).
    pub(crate) fn bind(
        &self,
        destination: Destination,
        key: &str,
        arguments: &FieldTable,
    ) -> Result<bool, BindError> {
        let mode = if self.options.kind == ExchangeKind::Headers {
            Some(XMatch::from_arguments(arguments).map_err(|e| BindError::Core(Box::new(e)))?)
        } else {
            None
        };
        let mut r = self.routing.write();
        let id = (destination, key.to_owned());
        if let Some(list) = r.bindings.get(&id) {
            if list.iter().any(|a| a.equivalent(arguments)) {
                return Ok(false);
            }
        }
        let dest = id.0.clone();
        match &mut r.table {
            Table::Direct(t) => t.bind(key, dest).map_err(BindError::Pattern)?,
            Table::Fanout(t) => t.bind(key, dest).map_err(BindError::Pattern)?,
            Table::Topic(t) => t.bind(key, dest).map_err(BindError::Pattern)?,
            Table::Headers(v) => v.push(HeadersBinding {
                destination: dest,
                mode: mode.unwrap_or_default(),
                arguments: arguments.clone(),
            }),
        }
        r.bindings.entry(id).or_default().push(arguments.clone());
        r.count += 1;
        Ok(true)
    }

    /// Removes a binding; returns whether it existed.
    pub(crate) fn unbind(
        &self,
        destination: &Destination,
        key: &str,
        arguments: &FieldTable,
    ) -> bool {
        let mut r = self.routing.write();
        let id = (destination.clone(), key.to_owned());
        let Some(list) = r.bindings.get_mut(&id) else {
            return false;
        };
        let Some(pos) = list.iter().position(|a| a.equivalent(arguments)) else {
            return false;
        };
        list.remove(pos);
        if list.is_empty() {
            r.bindings.remove(&id);
        }
        r.count -= 1;
        match &mut r.table {
            Table::Direct(t) => {
                t.unbind(key, destination);
            }
            Table::Fanout(t) => {
                t.unbind(key, destination);
            }
            Table::Topic(t) => {
                t.unbind(key, destination);
            }
            Table::Headers(v) => {
                if let Some(p) = v.iter().position(|b| {
                    &b.destination == destination && b.arguments.equivalent(arguments)
                }) {
                    v.remove(p);
                }
            }
        }
        true
    }

    /// Removes every binding to `destination`; returns how many there were.
    pub(crate) fn remove_destination(&self, destination: &Destination) -> usize {
        let mut r = self.routing.write();
        let before = r.count;
        let mut removed = 0;
        r.bindings.retain(|(d, _), list| {
            if d == destination {
                removed += list.len();
                false
            } else {
                true
            }
        });
        if removed == 0 {
            return 0;
        }
        r.count = before - removed;
        match &mut r.table {
            Table::Direct(t) => {
                t.remove_destination(destination);
            }
            Table::Fanout(t) => {
                t.remove_destination(destination);
            }
            Table::Topic(t) => {
                t.remove_destination(destination);
            }
            Table::Headers(v) => v.retain(|b| &b.destination != destination),
        }
        removed
    }

    /// True when some binding of this exchange goes to `destination`.
    pub(crate) fn has_destination(&self, destination: &Destination) -> bool {
        self.routing
            .read()
            .bindings
            .keys()
            .any(|(d, _)| d == destination)
    }

    /// Appends the destinations matching a message to `out` (each once per call).
    pub(crate) fn route(
        &self,
        key: &str,
        headers: Option<&FieldTable>,
        out: &mut Vec<Destination>,
    ) {
        let r = self.routing.read();
        match &r.table {
            Table::Direct(t) => t.route(key, out),
            Table::Fanout(t) => t.route(key, out),
            Table::Topic(t) => t.route(key, out),
            Table::Headers(v) => {
                let start = out.len();
                for b in v {
                    if headers_match(b.mode, &b.arguments, headers)
                        && !out.get(start..).is_some_and(|s| s.contains(&b.destination))
                    {
                        out.push(b.destination.clone());
                    }
                }
            }
        }
    }

    /// Snapshot of the bindings with this exchange as source.
    pub fn bindings(&self) -> Vec<BindingInfo> {
        let r = self.routing.read();
        let mut out: Vec<BindingInfo> = r
            .bindings
            .iter()
            .flat_map(|((d, k), list)| {
                list.iter().map(move |a| BindingInfo {
                    source: self.name.to_string(),
                    destination: d.clone(),
                    routing_key: k.clone(),
                    arguments: a.clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.destination, &a.routing_key).cmp(&(&b.destination, &b.routing_key)));
        out
    }
}

/// Why a bind failed inside an exchange (the vhost words it with names).
#[derive(Debug)]
pub(crate) enum BindError {
    Core(Box<CoreError>),
    Pattern(PatternError),
}
