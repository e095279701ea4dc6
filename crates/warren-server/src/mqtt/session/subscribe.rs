//! SUBSCRIBE and UNSUBSCRIBE: queues, bindings and consumers, shared-subscription groups,
//! and answers held until the session record is on disk.

use super::*;

impl MqttSession {
    // ---- SUBSCRIBE / UNSUBSCRIBE -------------------------------------------------------------

    /// Changes the session state (registry and, for a persistent session, the store); returns
    /// the store ticket of the new record.
    pub(super) fn update_state(
        &mut self,
        change: impl FnOnce(&mut SessionState),
    ) -> Option<Ticket> {
        let token = self.token?;
        let key = (self.vhost.clone(), self.client_id.clone());
        let mut copy = self.state.clone();
        change(&mut copy);
        let shared = &self.shared;
        let mut ticket = None;
        // Saved under the registry's lock: a takeover's record is never overwritten by the
        // connection it replaced.
        shared.sessions.update(&key, token, |s| {
            *s = copy.clone();
            ticket = shared.save_session(&key.0, &key.1, s, self.expiry);
        });
        self.state = copy;
        ticket
    }

    /// Writes the session's record again (while this connection owns it).
    pub(super) fn save_session(&self) {
        if let Some(token) = self.token {
            let key = (self.vhost.clone(), self.client_id.clone());
            let shared = &self.shared;
            shared.sessions.update(&key, token, |s| {
                shared.save_session(&key.0, &key.1, s, self.expiry);
            });
        }
    }

    /// Options of a subscription queue: a persistent session's queues are durable (their
    /// persistent messages survive a restart), a clean session's are not.
    pub(super) fn queue_options(&self, auto_delete: bool) -> QueueOptions {
        QueueOptions::default()
            .auto_delete(auto_delete)
            .durable(!auto_delete && self.expiry != Some(Duration::ZERO))
    }

    /// Puts one subscription in place: queue, binding, consumer. `previous` is the record it
    /// replaces (unbound from its old queue when the QoS class changed).
    pub(super) fn bind(
        &mut self,
        rec: &SubscriptionRecord,
        previous: Option<&SubscriptionRecord>,
    ) -> Result<(), CoreError> {
        let Some(ch) = self.channel.clone() else {
            return Ok(());
        };
        let exchange = self.shared.settings.exchange.clone();
        let table = warren_core::FieldTable::new();
        let filter = Filter::parse(&rec.filter).map_err(|_| CoreError::ChannelClosed)?;
        let pattern = convert::filter_to_pattern(filter.filter);
        if let Some(group) = filter.share_group {
            let queue = convert::shared_queue(group, filter.filter);
            self.declare_group_queue(&ch, &queue, rec)?;
            ch.queue_bind(&queue, &exchange, &pattern, &table)?;
            let tag = format!("{TAG_SHARE}{}", rec.filter);
            if self.consumers.remove(&tag) {
                ch.basic_cancel(&tag)?;
            }
            if rec.qos > 0 {
                self.ensure_prefetch(&ch)?;
            }
            ch.basic_consume(&queue, &tag, rec.qos == 0, false, |_| {})?;
            self.consumers.insert(tag);
            return Ok(());
        }
        let class = u8::from(rec.qos > 0);
        if let Some(prev) = previous {
            let prev_class = u8::from(prev.qos > 0);
            if prev_class != class {
                let old = convert::subscription_queue(&self.client_id, prev_class);
                ch.queue_unbind(&old, &exchange, &pattern, &table)?;
            }
        }
        let queue = convert::subscription_queue(&self.client_id, class);
        match ch.queue_declare(&queue, self.queue_options(false), false) {
            // Declared durable by a persistent connection of the session and now resumed by
            // a clean one (or the other way round): keep the queue and its messages.
            Err(CoreError::Inequivalent { .. }) => {
                ch.queue_declare(&queue, self.queue_options(false), true)?;
            }
            other => {
                other?;
            }
        }
        ch.queue_bind(&queue, &exchange, &pattern, &table)?;
        let tag = if class == 0 { TAG_QOS0 } else { TAG_QOS1 };
        if !self.consumers.contains(tag) {
            if class == 1 {
                self.ensure_prefetch(&ch)?;
            }
            ch.basic_consume(&queue, tag, class == 0, false, |_| {})?;
            self.consumers.insert(tag.to_owned());
        }
        Ok(())
    }

    /// Declares the queue of a `$share` group. A persistent member's is durable (so are the
    /// QoS 1/2 messages waiting in it: they survive a restart, for whichever member comes
    /// first) and is deleted by the front when the group's last member leaves
    /// ([`MqttShared::drop_unused_groups`]); a group of clean sessions only has a transient,
    /// auto-delete queue. A persistent session joining such a group replaces the transient
    /// queue with a durable one: it takes over the messages waiting in the old queue
    /// (`backlog`), and the other members re-attach when their consumer is cancelled.
    pub(super) fn declare_group_queue(
        &mut self,
        ch: &Channel,
        queue: &str,
        rec: &SubscriptionRecord,
    ) -> Result<(), CoreError> {
        let persistent = self.expiry != Some(Duration::ZERO);
        match ch.queue_declare(queue, self.queue_options(!persistent), false) {
            Ok(_) => Ok(()),
            // A durable group queue: a clean member uses it as it is.
            Err(CoreError::Inequivalent { .. }) if !persistent => ch
                .queue_declare(queue, self.queue_options(true), true)
                .map(drop),
            Err(CoreError::Inequivalent { .. }) => {
                while let Some(got) = ch.basic_get(queue, true)? {
                    self.backlog.push((got.message, rec.clone()));
                }
                ch.queue_delete(queue, false, false)?;
                info!(client = %self.client_id, %queue, taken = self.backlog.len(),
                      "shared subscription queue made durable for a persistent member");
                ch.queue_declare(queue, self.queue_options(false), false)
                    .map(drop)
            }
            Err(e) => Err(e),
        }
    }

    /// The messages taken over from a replaced group queue, as PUBLISHes to this client.
    pub(super) fn take_backlog(&mut self, now: Instant) -> Vec<Outgoing> {
        let now_ms = self.shared.now_ms(now);
        let v5 = self.v5();
        std::mem::take(&mut self.backlog)
            .into_iter()
            .filter_map(|(msg, rec)| {
                let info = convert::outbound(&msg);
                if warren_mqtt::topic::validate_topic_name(&info.topic).is_err()
                    || info.expires_at.is_some_and(|at| at <= now_ms)
                {
                    return None;
                }
                let mut properties = if v5 {
                    convert::outbound_properties(&msg, now_ms, info.expires_at)
                } else {
                    warren_mqtt::Properties::default()
                };
                properties.subscription_identifiers = rec.identifier.into_iter().collect();
                Some(Outgoing {
                    topic: info.topic,
                    qos: qos_of(info.qos.map_or(rec.qos, |q| q.min(rec.qos))),
                    retain: info.retain && rec.retain_as_published,
                    dup: false,
                    properties,
                    payload: msg.body.clone(),
                    tag: None,
                })
            })
            .collect()
    }

    pub(super) fn ensure_prefetch(&mut self, ch: &Channel) -> Result<(), CoreError> {
        if !self.prefetch_set {
            let configured = self.shared.settings.prefetch;
            let limit = match configured {
                0 => self.client_receive_max,
                n => n.min(self.client_receive_max),
            };
            ch.basic_qos(0, limit, false)?;
            self.prefetch_set = true;
        }
        Ok(())
    }

    pub(super) fn on_subscribe(&mut self, s: Subscribe, now: Instant) {
        let identifier = s.properties.subscription_identifiers.first().copied();
        let mut codes = Vec::with_capacity(s.subscriptions.len());
        let mut retained = Vec::new();
        // The store ticket of the session record with the new subscriptions.
        let mut ticket = None;
        for sub in &s.subscriptions {
            let parsed = match Filter::parse(&sub.filter) {
                Ok(f) => f,
                Err(e) => {
                    debug!(client = %self.client_id, filter = %sub.filter, error = %e, "bad filter");
                    codes.push(ReasonCode::TopicFilterInvalid);
                    continue;
                }
            };
            if parsed.is_shared() && sub.options.no_local && self.v5() {
                return self.fail(ReasonCode::ProtocolError, now);
            }
            let rec = SubscriptionRecord {
                filter: sub.filter.clone(),
                qos: sub.options.qos.as_u8(),
                no_local: sub.options.no_local,
                retain_as_published: sub.options.retain_as_published,
                identifier,
            };
            let previous = self
                .state
                .subscriptions
                .iter()
                .find(|r| r.filter == rec.filter)
                .cloned();
            match self.bind(&rec, previous.as_ref()) {
                Ok(()) => {
                    let existed = previous.is_some();
                    ticket = ticket.max(self.update_state(|st| {
                        st.upsert(rec.clone());
                    }));
                    codes.push(ReasonCode::granted(sub.options.qos));
                    let send_retained = !parsed.is_shared()
                        && match sub.options.retain_handling {
                            RetainHandling::SendAtSubscribe => true,
                            RetainHandling::SendAtSubscribeIfNew => !existed,
                            RetainHandling::DoNotSend => false,
                        };
                    if send_retained {
                        for m in self
                            .shared
                            .retained
                            .matching(&self.vhost, parsed.filter, now)
                        {
                            retained.push((m, rec.clone()));
                        }
                    }
                }
                Err(e) => {
                    info!(client = %self.client_id, filter = %sub.filter, error = %e,
                          "subscribe refused");
                    codes.push(core_reason(&e));
                }
            }
        }
        let now_ms = self.shared.now_ms(now);
        let mut then = Vec::with_capacity(retained.len());
        for (m, rec) in retained {
            let msg = warren_core::Message::new("", "", m.properties.clone(), m.payload.clone());
            let info = convert::outbound(&msg);
            let mut properties = convert::outbound_properties(&msg, now_ms, info.expires_at);
            if let Some(id) = rec.identifier {
                properties.subscription_identifiers = vec![id];
            }
            then.push(Outgoing {
                topic: m.topic.clone(),
                qos: qos_of(m.qos.min(rec.qos)),
                retain: true,
                dup: false,
                properties,
                payload: m.payload.clone(),
                tag: None,
            });
        }
        then.extend(self.take_backlog(now));
        // A persistent session's SUBACK promises the subscription survives a crash: it goes
        // out once the session record is on disk, the retained messages right after it.
        let suback = Packet::SubAck(SubAck {
            packet_id: s.packet_id,
            properties: warren_mqtt::Properties::default(),
            reason_codes: codes,
        });
        self.send_after_store(ticket, suback, then);
    }

    /// `ticket` unless it is durable already; when it is not, the sink is told
    /// ([`DeliverySink::confirmed`]) once it is.
    pub(super) fn not_yet_durable(&self, ticket: Option<Ticket>) -> Option<Ticket> {
        ticket.filter(|t| {
            t.0 > self.durable_upto
                && !self
                    .sink
                    .as_ref()
                    .is_none_or(|sink| self.shared.when_durable(*t, sink))
        })
    }

    /// Sends `packet`, then the PUBLISHes `then`, once `ticket` (the session record the
    /// packet stands for) is on stable storage: at once without a ticket, but never before
    /// the packets already waiting.
    pub(super) fn send_after_store(
        &mut self,
        ticket: Option<Ticket>,
        packet: Packet,
        then: Vec<Outgoing>,
    ) {
        let ticket = self.not_yet_durable(ticket);
        if ticket.is_none() && self.after_store.is_empty() {
            self.send(&packet);
            for o in then {
                self.send_publish(o);
            }
        } else {
            self.after_store.push_back(AfterStore {
                ticket,
                packet,
                then,
            });
        }
    }

    /// Sends the packets of `after_store` whose ticket is durable now, in order. If the store
    /// failed, the rest never will be: the connection closes without them (the client
    /// subscribes again after reconnecting).
    pub(super) fn flush_after_store(&mut self, now: Instant) {
        while let Some(first) = self.after_store.front() {
            if first.ticket.is_some_and(|t| t.0 > self.durable_upto) {
                if self.store_failed {
                    warn!(client = %self.client_id,
                        "the message store failed: closing without SUBACK / UNSUBACK / PUBREL");
                    self.after_store.clear();
                    return self.fail(ReasonCode::UnspecifiedError, now);
                }
                break;
            }
            let Some(next) = self.after_store.pop_front() else {
                break;
            };
            self.send(&next.packet);
            for o in next.then {
                self.send_publish(o);
            }
        }
    }

    /// Number of SUBACK / UNSUBACK / PUBREL packets waiting for the store.
    pub fn after_store_count(&self) -> usize {
        self.after_store.len()
    }

    pub(super) fn on_unsubscribe(&mut self, u: Unsubscribe) {
        let mut codes = Vec::with_capacity(u.filters.len());
        let exchange = self.shared.settings.exchange.clone();
        let table = warren_core::FieldTable::new();
        let mut ticket = None;
        for filter in &u.filters {
            let Some(rec) = self
                .state
                .subscriptions
                .iter()
                .find(|r| &r.filter == filter)
                .cloned()
            else {
                codes.push(ReasonCode::NoSubscriptionExisted);
                continue;
            };
            ticket = ticket.max(self.update_state(|st| {
                st.remove(filter);
            }));
            let Some(ch) = self.channel.clone() else {
                codes.push(ReasonCode::UnspecifiedError);
                continue;
            };
            let result = match Filter::parse(filter) {
                Ok(f) if f.is_shared() => {
                    // Other members may still use the group's queue: stop consuming; the
                    // queue goes with the group's last member.
                    let tag = format!("{TAG_SHARE}{filter}");
                    self.consumers.remove(&tag);
                    let cancelled = ch.basic_cancel(&tag).map(drop);
                    self.shared
                        .drop_unused_groups(&self.vhost, std::slice::from_ref(&rec));
                    cancelled
                }
                Ok(f) => {
                    let queue = convert::subscription_queue(&self.client_id, u8::from(rec.qos > 0));
                    ch.queue_unbind(
                        &queue,
                        &exchange,
                        &convert::filter_to_pattern(f.filter),
                        &table,
                    )
                }
                Err(_) => Ok(()),
            };
            codes.push(match result {
                Ok(()) => ReasonCode::Success,
                Err(e) => core_reason(&e),
            });
        }
        if !self.v5() {
            codes.clear();
        }
        // As SUBACK: a persistent session's UNSUBACK waits for its record on disk.
        let unsuback = Packet::UnsubAck(UnsubAck {
            packet_id: u.packet_id,
            properties: warren_mqtt::Properties::default(),
            reason_codes: codes,
        });
        self.send_after_store(ticket, unsuback, Vec::new());
    }
}
