//! CONNECT: authentication, the session claim and resume, CONNACK.

use super::*;

impl MqttSession {
    // ---- CONNECT -----------------------------------------------------------------------------

    pub(super) fn connack_refuse(&mut self, reason: ReasonCode) {
        self.send(&Packet::ConnAck(ConnAck {
            session_present: false,
            reason_code: reason,
            properties: warren_mqtt::Properties::default(),
        }));
        self.phase = Phase::Closed;
    }

    pub(super) fn on_connect(&mut self, c: Box<Connect>, now: Instant) {
        self.level = c.level;
        self.decoder.set_level(c.level);
        let v5 = c.level.is_v5();
        let settings = self.shared.settings.clone();
        if v5 && c.properties.authentication_method.is_some() {
            return self.connack_refuse(ReasonCode::BadAuthenticationMethod);
        }
        let mut assigned = None;
        let client_id = if c.client_id.is_empty() {
            if c.level == ProtocolLevel::V3_1 || (!v5 && !c.clean_start) {
                return self.connack_refuse(ReasonCode::ClientIdentifierNotValid);
            }
            let id = format!(
                "warren-{}",
                warren_core::generate_queue_name().trim_start_matches("amq.gen-")
            );
            if v5 {
                assigned = Some(id.clone());
            }
            id
        } else {
            c.client_id.clone()
        };
        // Credentials: "vhost:user" picks a vhost; no user name means the default user.
        let (vhost, user, pass) = match &c.username {
            Some(name) => {
                let (vhost, user) = match name.split_once(':') {
                    Some((v, u)) if !v.is_empty() => (v.to_owned(), u.to_owned()),
                    _ => (settings.vhost.clone(), name.clone()),
                };
                let pass = c
                    .password
                    .as_ref()
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .unwrap_or_default();
                (vhost, user, pass)
            }
            None if settings.allow_anonymous => (
                settings.vhost.clone(),
                settings.default_user.clone(),
                settings.default_pass.clone(),
            ),
            None => return self.connack_refuse(ReasonCode::BadUserNameOrPassword),
        };
        let broker = Arc::clone(&self.shared.broker);
        let user_rec =
            match broker.authenticate(Mechanism::Plain, &user, &pass, self.peer.ip().is_loopback())
            {
                Ok(u) => u,
                Err(e) => {
                    info!(peer = %self.peer, %user, error = %e, "MQTT login refused");
                    let reason = match e {
                        CoreError::LoginRefused {
                            reason: LoginFailure::LoopbackOnly,
                            ..
                        } => ReasonCode::NotAuthorized,
                        _ => ReasonCode::BadUserNameOrPassword,
                    };
                    return self.connack_refuse(reason);
                }
            };
        let conn = match broker.open_connection(ConnectionInfo {
            user: user_rec,
            vhost: vhost.clone(),
            peer: self.peer.to_string(),
            protocol: Protocol::Mqtt,
            client_name: Some(client_id.clone()),
        }) {
            Ok(c) => c,
            Err(e) => {
                info!(peer = %self.peer, %user, %vhost, error = %e, "MQTT vhost access refused");
                return self.connack_refuse(ReasonCode::NotAuthorized);
            }
        };
        // The broker (management) may close it: we hear it through the outbox.
        conn.set_close_listener(Arc::clone(&self.outbox) as Arc<dyn warren_core::CloseListener>);
        let sink: Arc<dyn DeliverySink> = Arc::new(ChannelSink {
            channel: CHANNEL,
            outbox: Arc::clone(&self.outbox),
        });
        self.sink = Some(Arc::clone(&sink));
        let channel = match conn.open_channel(CHANNEL, sink) {
            Ok(ch) => ch,
            Err(_) => return self.connack_refuse(ReasonCode::ServerUnavailable),
        };
        // Session lifetime after the connection.
        let mut server_expiry = None;
        self.expiry = if v5 {
            match c.properties.session_expiry_interval.unwrap_or(0) {
                0 => Some(Duration::ZERO),
                asked => {
                    let granted = asked.min(settings.max_session_expiry);
                    if granted != asked {
                        server_expiry = Some(granted);
                    }
                    Some(Duration::from_secs(granted.into()))
                }
            }
        } else if c.clean_start {
            Some(Duration::ZERO)
        } else {
            settings.subscription_ttl
        };
        let kick: Arc<dyn SessionOwner> = self.kick.clone();
        let claimed = self
            .shared
            .sessions
            .claim(&vhost, &client_id, c.clean_start, kick, now);
        if claimed.discarded {
            self.shared.delete_session_queues(&vhost, &client_id);
            self.shared
                .drop_unused_groups(&vhost, &claimed.discarded_state.subscriptions);
        }
        self.client_id = client_id;
        self.vhost = vhost;
        self.user = user;
        self.token = Some(claimed.token);
        self.incoming_qos2 = claimed.state.incoming_qos2.iter().copied().collect();
        self.state = claimed.state;
        self.save_session();
        self.core = Some(conn);
        self.channel = Some(channel);
        // Keep-alive, lowered to the server's cap.
        let mut server_keep_alive = None;
        self.keep_alive = c.keep_alive;
        if settings.max_keepalive != 0
            && (c.keep_alive == 0 || c.keep_alive > settings.max_keepalive)
        {
            self.keep_alive = settings.max_keepalive;
            server_keep_alive = Some(settings.max_keepalive);
        }
        if v5 {
            self.client_receive_max = c.properties.receive_maximum.unwrap_or(u16::MAX);
            self.client_max_packet = c.properties.maximum_packet_size.unwrap_or(u32::MAX);
            self.client_alias_max = c.properties.topic_alias_maximum.unwrap_or(0);
        }
        self.will = c.will;
        self.phase = Phase::Running;
        let mut props = warren_mqtt::Properties::default();
        if v5 {
            props.assigned_client_identifier = assigned;
            props.server_keep_alive = server_keep_alive;
            props.session_expiry_interval = server_expiry;
            props.receive_maximum = Some(settings.receive_maximum);
            props.topic_alias_maximum = Some(settings.topic_alias_maximum);
            props.maximum_packet_size = Some(settings.max_packet_size);
            props.retain_available = Some(true);
            props.wildcard_subscription_available = Some(true);
            props.subscription_identifier_available = Some(true);
            props.shared_subscription_available = Some(true);
        }
        info!(peer = %self.peer, client = %self.client_id, level = %self.level,
              session_present = claimed.session_present, "MQTT client connected");
        self.send(&Packet::ConnAck(ConnAck {
            session_present: claimed.session_present,
            reason_code: ReasonCode::Success,
            properties: props,
        }));
        // MQTT §4.4: PUBREL again for the QoS 2 messages released but not completed. (The
        // unacknowledged PUBLISHes come again from the session's queues, redelivered: DUP=1.)
        for id in self.state.outgoing_released.clone() {
            if let Some(pid) = NonZeroU16::new(id) {
                self.inflight.insert(
                    id,
                    Inflight {
                        tag: None,
                        qos: QoS::ExactlyOnce,
                        released: true,
                    },
                );
                self.send(&Packet::PubRel(PubAck::new(pid)));
            }
        }
        // Resume the stored subscriptions: their queues kept collecting messages.
        let subs = self.state.subscriptions.clone();
        for rec in subs {
            if let Err(e) = self.bind(&rec, None) {
                warn!(client = %self.client_id, filter = %rec.filter, error = %e,
                      "cannot resume subscription");
            }
        }
        for o in self.take_backlog(now) {
            self.send_publish(o);
        }
    }
}
