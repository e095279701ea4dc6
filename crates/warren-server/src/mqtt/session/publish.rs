//! PUBLISH from the client: routing into the exchange, QoS 1/2 answers held until the
//! store has the message (and the session's QoS 2 state), PUBREL.

use super::*;

impl MqttSession {
    // ---- PUBLISH from the client -------------------------------------------------------------

    pub(super) fn on_publish(&mut self, mut p: Publish, now: Instant) {
        if self.alarm_waker.is_none() {
            let waker: Arc<dyn AlarmListener> = Arc::new(AlarmWaker(Arc::clone(&self.outbox)));
            self.shared.broker.watch_alarms(&waker);
            self.alarm_waker = Some(waker);
        }
        if self.v5() {
            if let Some(alias) = p.properties.topic_alias {
                if alias == 0 || alias > self.shared.settings.topic_alias_maximum {
                    return self.fail(ReasonCode::TopicAliasInvalid, now);
                }
                if p.topic.is_empty() {
                    match self.in_aliases.get(&alias) {
                        Some(t) => p.topic = t.clone(),
                        None => return self.fail(ReasonCode::ProtocolError, now),
                    }
                } else {
                    self.in_aliases.insert(alias, p.topic.clone());
                }
                p.properties.topic_alias = None;
            }
        }
        if p.topic.is_empty() {
            return self.fail(ReasonCode::ProtocolError, now);
        }
        if !p.properties.subscription_identifiers.is_empty() {
            return self.fail(ReasonCode::ProtocolError, now);
        }
        if p.qos == QoS::ExactlyOnce {
            let Some(id) = p.packet_id else {
                return self.fail(ReasonCode::ProtocolError, now);
            };
            if self.incoming_qos2.contains(&id.get()) {
                // A resend of a message we already have: acknowledge, never route it twice.
                return self.reply(Packet::PubRec(PubAck::new(id)), None);
            }
        }
        // Receive Maximum (MQTT 5 §3.3.4): QoS 1 and 2 publishes not yet answered with PUBACK
        // or PUBCOMP — QoS 2 ids not yet released, plus PUBACKs held for the disk.
        if p.qos != QoS::AtMostOnce {
            let held_pubacks = self
                .held
                .iter()
                .filter(|(_, packet)| matches!(packet, Packet::PubAck(_)))
                .count();
            let in_flight = self.incoming_qos2.len() + held_pubacks;
            if in_flight >= usize::from(self.shared.settings.receive_maximum) {
                return self.fail(ReasonCode::ReceiveMaximumExceeded, now);
            }
        }
        let now_ms = self.shared.now_ms(now);
        let props = convert::inbound_properties(&convert::Inbound {
            qos: p.qos.as_u8(),
            retain: p.retain,
            dup: p.dup,
            client_id: &self.client_id,
            properties: &p.properties,
            now_ms,
        });
        let Some(channel) = self.channel.clone() else {
            return;
        };
        // Only a retained message needs the properties again.
        let retained_props = p.retain.then(|| props.clone());
        let result = channel.basic_publish(
            &self.shared.settings.exchange,
            convert::topic_to_key(&p.topic),
            false,
            props,
            p.payload.clone(),
        );
        // The store ticket the answer waits for: the message's, the retained record's.
        let mut ticket = result.as_ref().ok().and_then(|o| o.durable);
        let reason = match &result {
            Ok(outcome) if outcome.policy_rejected.is_some() => {
                // Refused by the exchange's policy (Car2Home validation) and dead-lettered, not
                // retained: MQTT 5 says so at QoS 1/2; 3.x has no way to, and the connection
                // stays up.
                info!(
                    client = %self.client_id,
                    topic = %p.topic,
                    reason = outcome.policy_rejected.unwrap_or_default(),
                    "publish refused by the exchange policy"
                );
                ReasonCode::PayloadFormatInvalid
            }
            Ok(outcome) => {
                if let Some(properties) = retained_props {
                    let retained = self.shared.retain(
                        &self.vhost,
                        RetainedMessage {
                            topic: p.topic.clone(),
                            qos: p.qos.as_u8(),
                            properties,
                            payload: p.payload.clone(),
                            expires_at: p
                                .properties
                                .message_expiry_interval
                                .map(|s| now + Duration::from_secs(s.into())),
                        },
                        now,
                    );
                    ticket = ticket.max(retained);
                }
                if outcome.routed == 0 {
                    ReasonCode::NoMatchingSubscribers
                } else {
                    ReasonCode::Success
                }
            }
            Err(e) => {
                info!(client = %self.client_id, topic = %p.topic, error = %e, "publish refused");
                if !self.v5() || p.qos == QoS::AtMostOnce {
                    // 3.x has no way to refuse a publish: close, as RabbitMQ does.
                    return self.fail(core_reason(e), now);
                }
                core_reason(e)
            }
        };
        let reason = if self.v5() {
            reason
        } else {
            ReasonCode::Success
        };
        let ack = |id| PubAck {
            packet_id: id,
            reason_code: reason,
            properties: warren_mqtt::Properties::default(),
        };
        match (p.qos, p.packet_id) {
            (QoS::AtLeastOnce, Some(id)) => self.reply(Packet::PubAck(ack(id)), ticket),
            (QoS::ExactlyOnce, Some(id)) => {
                if !reason.is_error() {
                    self.incoming_qos2.insert(id.get());
                    ticket = ticket.max(self.save_qos2());
                }
                self.reply(Packet::PubRec(ack(id)), ticket);
            }
            _ => {}
        }
    }

    /// Sends an answer to a client's publish once `ticket` (if any) is on stable storage,
    /// keeping the answers in order.
    pub(super) fn reply(&mut self, packet: Packet, ticket: Option<Ticket>) {
        let ticket = ticket.filter(|t| {
            t.0 > self.durable_upto
                && !self
                    .sink
                    .as_ref()
                    .is_none_or(|sink| self.shared.when_durable(*t, sink))
        });
        if ticket.is_none() && self.held.is_empty() {
            self.send(&packet);
        } else {
            self.held.push_back((ticket, packet));
        }
    }

    /// Sends the held answers whose ticket is now durable, in order. Once the store has
    /// failed, the others never will be: MQTT 5 gets PUBACK / PUBREC 0x80 (unspecified
    /// error); 3.x, which has no negative answer, and a PUBCOMP (which has none either) get
    /// the connection closed without the answer, so the client publishes again later.
    pub(super) fn flush_held(&mut self, now: Instant) {
        while let Some((ticket, _)) = self.held.front() {
            let waiting = ticket.is_some_and(|t| t.0 > self.durable_upto);
            if waiting && !self.store_failed {
                break;
            }
            let Some((_, mut packet)) = self.held.pop_front() else {
                break;
            };
            if waiting {
                match &mut packet {
                    Packet::PubAck(a) | Packet::PubRec(a) if self.v5() => {
                        if !a.reason_code.is_error() {
                            a.reason_code = ReasonCode::UnspecifiedError;
                        }
                        // A refused QoS 2 publish is over: a resend is a new publish.
                        if let Packet::PubRec(a) = &packet {
                            self.incoming_qos2.remove(&a.packet_id.get());
                        }
                    }
                    _ => {
                        warn!(client = %self.client_id,
                            "the message store failed: closing without acknowledging");
                        self.held.clear();
                        return self.fail(ReasonCode::UnspecifiedError, now);
                    }
                }
            }
            self.send(&packet);
        }
    }

    /// Number of answers (PUBACK, PUBREC, PUBCOMP) waiting for the store.
    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    pub(super) fn save_qos2(&mut self) -> Option<Ticket> {
        let ids: Vec<u16> = self.incoming_qos2.iter().copied().collect();
        self.update_state(|s| s.incoming_qos2 = ids)
    }

    pub(super) fn on_pubrel(&mut self, id: PacketId) {
        let known = self.incoming_qos2.remove(&id.get());
        let ticket = if known { self.save_qos2() } else { None };
        self.reply(
            Packet::PubComp(PubAck {
                packet_id: id,
                reason_code: if known || !self.v5() {
                    ReasonCode::Success
                } else {
                    ReasonCode::PacketIdentifierNotFound
                },
                properties: warren_mqtt::Properties::default(),
            }),
            ticket,
        );
    }
}
