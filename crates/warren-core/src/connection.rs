//! Connections: an authenticated user in one vhost, owning channels and exclusive queues.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::auth::User;
use crate::channel::{Channel, DeliverySink};
use crate::error::{CoreError, Permission, ResourceKind};
use crate::metrics::Metrics;
use crate::permissions::Permissions;
use crate::queue::Queue;
use crate::vhost::VHost;

/// A connection's broker-wide id (exclusive queues are owned by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Which front a connection came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// AMQP 0-9-1.
    Amqp091,
    /// MQTT 3.1 / 3.1.1 / 5.0.
    Mqtt,
    /// STOMP.
    Stomp,
    /// In-process use (tests, definitions, management).
    Direct,
}

/// What a front knows about a new connection once the client has logged in.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The authenticated user (from [`crate::Broker::authenticate`]).
    pub user: Arc<User>,
    /// The vhost asked for (`connection.open`).
    pub vhost: String,
    /// The peer address, as text, for listings and logs.
    pub peer: String,
    /// The front.
    pub protocol: Protocol,
    /// The client's self-description (`connection_name` or product), if any.
    pub client_name: Option<String>,
}

/// What channels of a connection share (no back reference to the channels: no cycles).
pub(crate) struct ConnShared {
    pub(crate) id: ConnectionId,
    pub(crate) user: Arc<User>,
    pub(crate) vhost: Arc<VHost>,
    pub(crate) permissions: Arc<Permissions>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) max_message_size: usize,
    exclusive: Mutex<Vec<Arc<Queue>>>,
}

impl ConnShared {
    /// A permission check, worded as RabbitMQ.
    pub(crate) fn check(
        &self,
        permission: Permission,
        kind: ResourceKind,
        name: &str,
    ) -> Result<(), CoreError> {
        if self.permissions.allows(permission, name) {
            Ok(())
        } else {
            Err(CoreError::AccessRefused {
                kind,
                name: name.to_owned(),
                vhost: self.vhost.name().to_owned(),
                user: self.user.name.clone(),
                permission,
            })
        }
    }

    pub(crate) fn own_exclusive(&self, q: &Arc<Queue>) {
        let mut v = self.exclusive.lock();
        if !v.iter().any(|x| Arc::ptr_eq(x, q)) {
            v.push(Arc::clone(q));
        }
    }
}

/// An open connection. Obtained from [`crate::Broker::open_connection`]; [`Connection::close`]
/// (or dropping it) closes its channels and deletes its exclusive queues.
pub struct Connection {
    shared: Arc<ConnShared>,
    info: ConnectionInfo,
    channels: Mutex<HashMap<u16, Arc<Channel>>>,
    closed: Mutex<bool>,
    /// Told when the broker (management, `warren ctl`) closes the connection.
    close_listener: Mutex<Option<Arc<dyn CloseListener>>>,
}

/// Implemented by a protocol front to learn that the broker closed its connection (e.g.
/// `DELETE /api/connections/{name}`), so it can tell the client the protocol's way (AMQP
/// `connection.close` 320, MQTT 5 DISCONNECT 0x98) and drop the socket. Called without core
/// locks held; must only record the reason and wake the connection task.
pub trait CloseListener: Send + Sync {
    /// The broker closed the connection for `reason`.
    fn force_closed(&self, reason: &str);
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.shared.id)
            .field("user", &self.shared.user.name)
            .field("vhost", &self.shared.vhost.name())
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(
        id: ConnectionId,
        info: ConnectionInfo,
        vhost: Arc<VHost>,
        permissions: Arc<Permissions>,
        metrics: Arc<Metrics>,
        max_message_size: usize,
    ) -> Connection {
        metrics.connection_opened();
        Connection {
            shared: Arc::new(ConnShared {
                id,
                user: Arc::clone(&info.user),
                vhost,
                permissions,
                metrics,
                max_message_size,
                exclusive: Mutex::new(Vec::new()),
            }),
            info,
            channels: Mutex::new(HashMap::new()),
            closed: Mutex::new(false),
            close_listener: Mutex::new(None),
        }
    }

    /// The id.
    pub fn id(&self) -> ConnectionId {
        self.shared.id
    }

    /// The user.
    pub fn user(&self) -> &User {
        &self.shared.user
    }

    /// The vhost name.
    pub fn vhost(&self) -> &str {
        self.shared.vhost.name()
    }

    /// What the front said about the connection.
    pub fn info(&self) -> &ConnectionInfo {
        &self.info
    }

    /// Opens channel `id`, whose deliveries go to `sink`. 504 CHANNEL_ERROR if `id` is open.
    pub fn open_channel(
        &self,
        id: u16,
        sink: Arc<dyn DeliverySink>,
    ) -> Result<Arc<Channel>, CoreError> {
        if *self.closed.lock() {
            return Err(CoreError::ChannelClosed);
        }
        let mut channels = self.channels.lock();
        if channels.contains_key(&id) {
            return Err(CoreError::ChannelAlreadyOpen(id));
        }
        let ch = Arc::new(Channel::new(id, sink, Arc::clone(&self.shared)));
        channels.insert(id, Arc::clone(&ch));
        Ok(ch)
    }

    /// The open channel `id`.
    pub fn channel(&self, id: u16) -> Option<Arc<Channel>> {
        self.channels.lock().get(&id).cloned()
    }

    /// Closes channel `id` (client `channel.close`, or after a channel error); frees the number.
    pub fn close_channel(&self, id: u16) {
        let ch = self.channels.lock().remove(&id);
        if let Some(ch) = ch {
            ch.close();
        }
    }

    /// Number of open channels.
    pub fn channel_count(&self) -> usize {
        self.channels.lock().len()
    }

    /// The open channels, sorted by number (for management listings).
    pub fn channels(&self) -> Vec<Arc<Channel>> {
        let mut v: Vec<_> = self.channels.lock().values().cloned().collect();
        v.sort_by_key(|c| c.id());
        v
    }

    /// Registers the front's [`CloseListener`] (replacing an earlier one).
    pub fn set_close_listener(&self, listener: Arc<dyn CloseListener>) {
        *self.close_listener.lock() = Some(listener);
    }

    /// Closes the connection from the broker's side: the front's [`CloseListener`] is told
    /// `reason`, then the connection closes as with [`Connection::close`].
    pub fn force_close(&self, reason: &str) {
        let listener = self.close_listener.lock().clone();
        if let Some(l) = listener {
            l.force_closed(reason);
        }
        self.close();
    }

    /// Closes every channel and deletes the connection's exclusive queues (idempotent).
    pub fn close(&self) {
        {
            let mut closed = self.closed.lock();
            if *closed {
                return;
            }
            *closed = true;
        }
        let channels: Vec<Arc<Channel>> = self.channels.lock().drain().map(|(_, c)| c).collect();
        for ch in channels {
            ch.close();
        }
        let exclusive: Vec<Arc<Queue>> = std::mem::take(&mut *self.shared.exclusive.lock());
        for q in exclusive {
            self.shared.vhost.delete_queue_instance(&q);
        }
        self.shared.metrics.connection_closed();
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.close();
    }
}
