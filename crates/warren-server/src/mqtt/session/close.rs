//! DISCONNECT and every other way a connection ends: the will, the session's fate.

use super::*;

impl MqttSession {
    // ---- DISCONNECT and closing --------------------------------------------------------------

    pub(super) fn on_disconnect(&mut self, d: Disconnect, now: Instant) {
        if self.v5() {
            if let Some(secs) = d.properties.session_expiry_interval {
                if self.expiry == Some(Duration::ZERO) && secs != 0 {
                    return self.fail(ReasonCode::ProtocolError, now);
                }
                let granted = secs.min(self.shared.settings.max_session_expiry);
                self.expiry = Some(Duration::from_secs(granted.into()));
            }
        }
        let with_will = self.v5() && d.reason_code == ReasonCode::DisconnectWithWillMessage;
        self.close(with_will, now);
    }

    /// The server is shutting down: 5.0 clients are told (0x8B), then the connection closes.
    pub fn shutdown(&mut self, now: Instant) {
        if self.phase == Phase::Running && self.v5() {
            self.send(&Packet::Disconnect(Disconnect {
                reason_code: ReasonCode::ServerShuttingDown,
                properties: warren_mqtt::Properties::default(),
            }));
        }
        self.close(false, now);
    }

    /// The connection is gone without a DISCONNECT (socket closed or failed): publishes the
    /// will and closes.
    pub fn connection_lost(&mut self, now: Instant) {
        self.close(true, now);
    }

    pub(super) fn close(&mut self, publish_will: bool, now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        let was_running = self.phase == Phase::Running;
        self.phase = Phase::Closed;
        if !was_running {
            return;
        }
        let will = self.will.take();
        // Taken over: the session lives on in the new connection, which cancels a delayed will.
        let taken_over = !self
            .token
            .is_some_and(|t| self.shared.sessions.owns(&self.vhost, &self.client_id, t));
        if let (true, Some(w)) = (publish_will, will) {
            let delay = w.properties.will_delay_interval.unwrap_or(0);
            let now_ms = self.shared.now_ms(now);
            let properties = convert::inbound_properties(&convert::Inbound {
                qos: w.qos.as_u8(),
                retain: w.retain,
                dup: false,
                client_id: &self.client_id,
                properties: &w.properties,
                now_ms,
            });
            let session_lasts = self.expiry != Some(Duration::ZERO);
            let due_in = match self.expiry {
                Some(e) => Duration::from_secs(delay.into()).min(e),
                None => Duration::from_secs(delay.into()),
            };
            let pending = PendingWill {
                vhost: self.vhost.clone(),
                client_id: self.client_id.clone(),
                user: self.user.clone(),
                topic: w.topic,
                qos: w.qos.as_u8(),
                retain: w.retain,
                properties,
                payload: w.payload,
                due: now + due_in,
            };
            if delay > 0 && self.v5() && taken_over {
                debug!(client = %self.client_id, "delayed will dropped: session taken over");
            } else if delay > 0 && session_lasts && self.v5() {
                self.shared.sessions.schedule_will(pending);
            } else {
                self.shared.publish_will(&pending);
            }
        }
        if let Some(token) = self.token.take() {
            let ended = self.shared.sessions.disconnected(
                &self.vhost,
                &self.client_id,
                token,
                self.expiry,
                now,
            );
            // Close the core connection first: its consumers go and unacked messages return
            // to the queues (marked redelivered, for a persistent session's next connection).
            if let Some(conn) = self.core.take() {
                conn.close();
            }
            if ended {
                self.shared.forget_session(&self.vhost, &self.client_id);
                self.shared
                    .delete_session_queues(&self.vhost, &self.client_id);
                self.shared
                    .drop_unused_groups(&self.vhost, &self.state.subscriptions);
            } else {
                // The expiry may have changed at DISCONNECT (5.0).
                self.token = Some(token);
                self.save_session();
                self.token = None;
            }
        }
        if let Some(conn) = self.core.take() {
            conn.close();
        }
        self.channel = None;
        debug!(peer = %self.peer, client = %self.client_id, "MQTT session closed");
    }
}
