//! PUBLISHes to the client: deliveries from the core, packet ids and in-flight state, and
//! the client's PUBACK / PUBREC / PUBCOMP for them.

use super::*;

impl MqttSession {
    // ---- acknowledgements of our PUBLISHes ---------------------------------------------------

    pub(super) fn ack_core(&self, tag: Option<u64>) {
        if let (Some(tag), Some(ch)) = (tag, &self.channel) {
            if let Err(e) = ch.basic_ack(tag, false) {
                debug!(client = %self.client_id, error = %e, "ack failed");
            }
        }
    }

    pub(super) fn on_puback(&mut self, id: PacketId) {
        if let Some(f) = self.inflight.remove(&id.get()) {
            self.ack_core(f.tag);
        }
    }

    pub(super) fn on_pubrec(&mut self, a: PubAck) {
        let id = a.packet_id;
        let found = match self.inflight.get_mut(&id.get()) {
            Some(f) if f.qos == QoS::ExactlyOnce => {
                let tag = f.tag.take();
                f.released = true;
                if a.reason_code.is_error() {
                    self.inflight.remove(&id.get());
                }
                Some(tag)
            }
            _ => None,
        };
        match found {
            Some(tag) if a.reason_code.is_error() => self.ack_core(tag),
            Some(tag) => {
                // The client owns the message now: remember that PUBREL is due (sent again
                // when the session resumes, also after a restart), then settle it in the
                // queue. In that order, a crash between the two repeats the message rather
                // than losing it. PUBREL waits until both are on disk (the store's last
                // ticket after the ack covers the ack record), so a client never completes
                // a message the broker could still deliver again.
                let mut ticket = self.update_state(|st| {
                    if !st.outgoing_released.contains(&id.get()) {
                        st.outgoing_released.push(id.get());
                    }
                });
                self.ack_core(tag);
                if ticket.is_some() {
                    ticket = self
                        .shared
                        .store
                        .as_ref()
                        .map(|s| s.last_ticket())
                        .or(ticket);
                }
                self.send_after_store(ticket, Packet::PubRel(PubAck::new(id)), Vec::new());
            }
            None => self.send(&Packet::PubRel(PubAck {
                packet_id: id,
                reason_code: if self.v5() {
                    ReasonCode::PacketIdentifierNotFound
                } else {
                    ReasonCode::Success
                },
                properties: warren_mqtt::Properties::default(),
            })),
        }
    }

    pub(super) fn on_pubcomp(&mut self, id: PacketId) {
        self.inflight.remove(&id.get());
        if self.state.outgoing_released.contains(&id.get()) {
            self.update_state(|st| st.outgoing_released.retain(|&r| r != id.get()));
        }
    }

    // ---- deliveries --------------------------------------------------------------------------

    /// Turns the core's deliveries into PUBLISH packets; handles a takeover.
    pub fn handle_outbox(&mut self, now: Instant) {
        self.check_alarms(now);
        if self.outbox.take_forced_close().is_some() {
            // Closed by the broker (management): DISCONNECT 0x98 for 5.0 clients.
            return self.fail(ReasonCode::AdministrativeAction, now);
        }
        let mut events = std::mem::take(&mut self.events);
        self.outbox.drain(&mut events);
        // `$share` consumers whose group queue was replaced or deleted under them.
        let mut reattach = Vec::new();
        for (_, event) in events.drain(..) {
            match event {
                OutEvent::Deliver(d) => self.deliver(d, now),
                OutEvent::Cancelled(tag) => {
                    self.consumers.remove(&tag);
                    if tag.starts_with(TAG_SHARE) {
                        reattach.push(tag);
                    }
                }
                OutEvent::Confirmed(t) => {
                    self.durable_upto = self.durable_upto.max(t.0);
                }
                OutEvent::StoreFailed => self.store_failed = true,
            }
        }
        self.events = events;
        self.reattach_groups(reattach, now);
        if !self.held.is_empty() {
            self.flush_held(now);
        }
        if !self.after_store.is_empty() {
            self.flush_after_store(now);
        }
        if self.outbox.take_throttled() {
            if let Some(ch) = &self.channel {
                ch.notify_writable();
            }
        }
        if self.kick.flag.load(Ordering::Acquire) && self.phase == Phase::Running {
            info!(client = %self.client_id, "MQTT session taken over");
            // The new connection owns the session: do not end it or delete its queues.
            self.token = None;
            if self.v5() {
                self.send(&Packet::Disconnect(Disconnect {
                    reason_code: ReasonCode::SessionTakenOver,
                    properties: warren_mqtt::Properties::default(),
                }));
            }
            self.close(true, now);
        }
    }

    pub(super) fn deliver(&mut self, d: Delivery, now: Instant) {
        let manual = if &*d.consumer_tag == TAG_QOS0 {
            false
        } else if &*d.consumer_tag == TAG_QOS1 {
            true
        } else {
            d.consumer_tag
                .strip_prefix(TAG_SHARE)
                .and_then(|f| self.state.subscriptions.iter().find(|r| r.filter == f))
                .is_some_and(|r| r.qos > 0)
        };
        if self.phase != Phase::Running {
            return;
        }
        let info = convert::outbound(&d.message);
        let drop_it = |s: &Self| {
            if manual {
                s.ack_core(Some(d.delivery_tag));
            }
        };
        if warren_mqtt::topic::validate_topic_name(&info.topic).is_err() {
            return drop_it(self);
        }
        // The subscriptions this delivery is for.
        let from_me = info.client_id.as_deref() == Some(self.client_id.as_str());
        let matching: Vec<&SubscriptionRecord> = self
            .state
            .subscriptions
            .iter()
            .filter(|r| match d.consumer_tag.strip_prefix(TAG_SHARE) {
                Some(f) => r.filter == f,
                None => {
                    !r.filter.starts_with("$share/")
                        && (r.qos > 0) == manual
                        // Stored filters were validated at SUBSCRIBE.
                        && warren_topic::mqtt_matches_valid(&info.topic, &r.filter)
                }
            })
            .filter(|r| !(r.no_local && from_me))
            .collect();
        if matching.is_empty() {
            return drop_it(self);
        }
        let now_ms = self.shared.now_ms(now);
        if info.expires_at.is_some_and(|at| at <= now_ms) {
            return drop_it(self);
        }
        let sub_qos = matching.iter().map(|r| r.qos).max().unwrap_or(0);
        let qos = qos_of(info.qos.map_or(sub_qos, |q| q.min(sub_qos)));
        let retain = info.retain && matching.iter().any(|r| r.retain_as_published);
        let mut ids: Vec<u32> = matching.iter().filter_map(|r| r.identifier).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut properties = if self.v5() {
            convert::outbound_properties(&d.message, now_ms, info.expires_at)
        } else {
            warren_mqtt::Properties::default()
        };
        properties.subscription_identifiers = ids;
        if qos == QoS::AtMostOnce && manual {
            self.ack_core(Some(d.delivery_tag));
        }
        self.send_publish(Outgoing {
            topic: info.topic,
            qos,
            retain,
            dup: d.redelivered && qos != QoS::AtMostOnce,
            properties,
            payload: d.message.body.clone(),
            tag: (qos != QoS::AtMostOnce).then_some(d.delivery_tag),
        });
    }

    /// Consumes again from the group queues of `$share` subscriptions whose consumer the core
    /// cancelled (the queue was replaced by a durable one, or deleted by a race with the last
    /// member leaving) while the subscription stands.
    pub(super) fn reattach_groups(&mut self, tags: Vec<String>, now: Instant) {
        if self.phase != Phase::Running {
            return;
        }
        for tag in tags {
            let Some(rec) = tag.strip_prefix(TAG_SHARE).and_then(|f| {
                self.state
                    .subscriptions
                    .iter()
                    .find(|r| r.filter == f)
                    .cloned()
            }) else {
                continue;
            };
            if let Err(e) = self.bind(&rec, None) {
                warn!(client = %self.client_id, filter = %rec.filter, error = %e,
                      "cannot re-attach to the shared subscription's queue");
            }
        }
        for o in self.take_backlog(now) {
            self.send_publish(o);
        }
    }

    pub(super) fn alloc_pid(&mut self) -> Option<NonZeroU16> {
        for _ in 0..=u16::MAX {
            let id = self.next_pid;
            self.next_pid = self.next_pid.checked_add(1).unwrap_or(1);
            if let Some(nz) = NonZeroU16::new(id) {
                if !self.inflight.contains_key(&id) {
                    return Some(nz);
                }
            }
        }
        None
    }

    pub(super) fn send_publish(&mut self, mut o: Outgoing) {
        let v5 = self.v5();
        if !v5 {
            o.properties = warren_mqtt::Properties::default();
        }
        let packet_id = if o.qos == QoS::AtMostOnce {
            None
        } else {
            match self.alloc_pid() {
                Some(id) => Some(id),
                None => {
                    self.ack_core(o.tag);
                    return;
                }
            }
        };
        // Topic alias (5.0, when the client accepts them).
        let mut new_alias = None;
        let mut topic = o.topic.clone();
        if v5 && self.client_alias_max > 0 {
            if let Some(&alias) = self.out_aliases.get(&o.topic) {
                o.properties.topic_alias = Some(alias);
                topic.clear();
            } else if let Ok(n) = u16::try_from(self.out_aliases.len() + 1) {
                if n <= self.client_alias_max {
                    o.properties.topic_alias = Some(n);
                    new_alias = Some(n);
                }
            }
        }
        let packet = Packet::Publish(Publish {
            dup: o.dup,
            qos: o.qos,
            retain: o.retain,
            topic,
            packet_id,
            properties: o.properties,
            payload: o.payload,
        });
        let start = self.out.len();
        if let Err(e) = packet.encode(self.level, &mut self.out) {
            warn!(client = %self.client_id, error = %e, "cannot encode PUBLISH");
            self.out.truncate(start);
            self.ack_core(o.tag);
            return;
        }
        let size = self.out.len() - start;
        if u64::try_from(size).unwrap_or(u64::MAX) > u64::from(self.client_max_packet) {
            // Larger than the client accepts: discarded, as 5.0 says.
            self.out.truncate(start);
            self.ack_core(o.tag);
            return;
        }
        if let Some(n) = new_alias {
            self.out_aliases.insert(o.topic, n);
        }
        if let Some(id) = packet_id {
            self.inflight.insert(
                id.get(),
                Inflight {
                    tag: o.tag,
                    qos: o.qos,
                    released: false,
                },
            );
        }
    }
}
