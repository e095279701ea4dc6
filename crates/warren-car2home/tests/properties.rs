#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests: a panic is the failure report

//! Property tests: every payload round-trips (serde and validation), unknown commands round-trip
//! untouched, each removed required field is named, and no input makes validation panic or
//! disagree with the typed payloads.

use proptest::prelude::*;
use serde_json::{Map, Value};
use warren_car2home::payload::*;
use warren_car2home::{
    catalogue, lookup_command, validate, Command, Device, Message, MessageType, Route, RoutingKey,
    ValidationError, Validator,
};

// ---- strategies -------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 _가-힣-]{1,24}"
}

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    prop::option::of(s)
}

fn finite() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite())
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        finite().prop_map(Value::from),
        "[a-z0-9 \"\\\\/é-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn power() -> impl Strategy<Value = Power> {
    prop_oneof![Just(Power::On), Just(Power::Off)]
}

fn light_mode() -> impl Strategy<Value = LightMode> {
    prop_oneof![
        Just(LightMode::On),
        Just(LightMode::Off),
        Just(LightMode::Auto)
    ]
}

fn sensor_kind() -> impl Strategy<Value = SensorKind> {
    prop::sample::select(vec![
        SensorKind::Temperature,
        SensorKind::Humidity,
        SensorKind::Illuminance,
        SensorKind::Gas,
        SensorKind::Dust,
        SensorKind::Motion,
        SensorKind::Door,
        SensorKind::Water,
    ])
}

fn emergency_kind() -> impl Strategy<Value = EmergencyKind> {
    prop::sample::select(vec![
        EmergencyKind::Fire,
        EmergencyKind::Gas,
        EmergencyKind::Intrusion,
        EmergencyKind::Crash,
        EmergencyKind::Medical,
        EmergencyKind::Other,
    ])
}

/// Any catalogued command with a payload that respects its schema.
fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        (text(), text()).prop_map(|(uid, name)| Signup { uid, name }.into()),
        text().prop_map(|uid| SignupOk { uid }.into()),
        (sensor_kind(), finite(), opt("[a-zA-Z%°]{1,16}")).prop_map(|(sensor, value, unit)| {
            SensorReport {
                sensor,
                value,
                unit,
            }
            .into()
        }),
        (text(), power(), opt(0u8..=100)).prop_map(|(appliance, action, level)| {
            ApplianceControl {
                appliance,
                action,
                level,
            }
            .into()
        }),
        (text(), power(), opt(0u8..=100)).prop_map(|(appliance, state, level)| {
            ApplianceState {
                appliance,
                state,
                level,
            }
            .into()
        }),
        ("[A-Za-z0-9+/]{1,64}={0,2}", any::<u64>()).prop_map(|(image, seq)| FaceFrame {
            image,
            seq
        }
        .into()),
        (any::<bool>(), opt(text()), opt(text()), opt(0.0f64..=1.0)).prop_map(
            |(recognized, uid, name, confidence)| FaceEvent {
                recognized,
                uid,
                name,
                confidence
            }
            .into()
        ),
        (light_mode(), opt(0u8..=100))
            .prop_map(|(mode, level)| LightControl { mode, level }.into()),
        (light_mode(), any::<bool>(), opt(0.0f64..1e6)).prop_map(|(mode, lit, illuminance)| {
            LightState {
                mode,
                lit,
                illuminance,
            }
            .into()
        }),
        (text(), text(), opt(text())).prop_map(|(uid, query, request_id)| LookupRequest {
            uid,
            query,
            request_id
        }
        .into()),
        (text(), text(), opt(text()), json()).prop_map(|(uid, query, request_id, data)| {
            LookupReply {
                uid,
                query,
                request_id,
                data,
            }
            .into()
        }),
        (text(), text(), "[ -~]{0,40}", opt(text())).prop_map(|(about, code, message, uid)| {
            Report {
                about,
                code,
                message,
                uid,
            }
            .into()
        }),
        (emergency_kind(), "[ -~]{0,40}")
            .prop_map(|(kind, message)| Emergency { kind, message }.into()),
    ]
}

/// A valid (routing key, message) pair: a catalogued command, a producer the catalogue allows,
/// and a key it allows.
fn valid_pair() -> impl Strategy<Value = (RoutingKey, Message)> {
    (
        command(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(cmd, si, ri, ti)| {
            let spec = lookup_command(cmd.name()).unwrap();
            let producer = *si.get(spec.senders);
            let key = RoutingKey::new(*ri.get(spec.recipients), *ti.get(spec.message_types));
            (key, Message::new(producer, cmd))
        })
}

fn device() -> impl Strategy<Value = Device> {
    prop::sample::select(Device::ALL.to_vec())
}

fn message_type() -> impl Strategy<Value = MessageType> {
    prop::sample::select(MessageType::ALL.to_vec())
}

/// A command name the catalogue does not know.
fn unknown_name() -> impl Strategy<Value = String> {
    "[a-z_]{1,16}".prop_filter("not catalogued", |n| lookup_command(n).is_none())
}

/// Values that often pass a field's schema and often just miss it.
fn near_miss() -> impl Strategy<Value = Value> {
    prop_oneof![
        json(),
        (-5i64..=300).prop_map(Value::from),
        (-0.5f64..=1.5).prop_map(Value::from),
        prop::sample::select(vec![
            "on",
            "off",
            "auto",
            "toggle",
            "temperature",
            "fire",
            "",
            "x",
            "u1"
        ])
        .prop_map(Value::from),
        "[a-z]{120,135}".prop_map(Value::from),
    ]
}

// ---- properties -------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every catalogued payload: typed → JSON → validate gives the same message, and serde
    /// alone round-trips it too.
    #[test]
    fn every_payload_round_trips((key, msg) in valid_pair()) {
        let body = serde_json::to_vec(&msg).unwrap();
        let valid = validate(&key.to_string(), &body).unwrap();
        prop_assert_eq!(valid.route, Route::Key(key));
        prop_assert_eq!(&valid.message, &msg);
        let back: Message = serde_json::from_slice(&body).unwrap();
        prop_assert_eq!(&back, &msg);
        // `Producer` and `command` come first, as the seed writes them.
        let head = format!(r#"{{"Producer":"{}","command":"{}""#, msg.producer, msg.command.name());
        prop_assert!(body.starts_with(head.as_bytes()));
        // Valid for the strict validator too: the types write no field the schema lacks.
        let mut strict = Validator::new();
        strict.reject_unknown_fields = true;
        prop_assert!(strict.validate(&key.to_string(), &body).is_ok());
    }

    /// An unknown command's payload round-trips untouched (JSON value equality), through serde
    /// and through validation.
    #[test]
    fn unknown_commands_round_trip_untouched(
        producer in device(),
        name in unknown_name(),
        fields in prop::collection::btree_map("[a-zA-Z_]{1,10}", json(), 0..6),
        recipient in device(),
        kind in message_type(),
    ) {
        let mut obj: Map<String, Value> = fields.into_iter().collect();
        obj.insert("Producer".into(), producer.as_str().into());
        obj.insert("command".into(), name.clone().into());
        let original = Value::Object(obj);
        let body = serde_json::to_vec(&original).unwrap();

        let msg: Message = serde_json::from_slice(&body).unwrap();
        prop_assert!(matches!(&msg.command, Command::Unknown(u) if u.command == name));
        prop_assert_eq!(serde_json::to_value(&msg).unwrap(), original.clone());

        let key = RoutingKey::new(recipient, kind).to_string();
        let valid = validate(&key, &body).unwrap();
        prop_assert_eq!(serde_json::to_value(&valid.message).unwrap(), original.clone());
        let broadcast = Validator::new().validate_broadcast(&body).unwrap();
        prop_assert_eq!(serde_json::to_value(&broadcast.message).unwrap(), original);
    }

    /// Removing any required field is reported as that missing field.
    #[test]
    fn each_missing_required_field_is_named((key, msg) in valid_pair(), pick in any::<prop::sample::Index>()) {
        let spec = lookup_command(msg.command.name()).unwrap();
        let schema = spec.payload_schema();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        prop_assume!(!required.is_empty());
        let field = *pick.get(&required);
        let mut v = serde_json::to_value(&msg).unwrap();
        v.as_object_mut().unwrap().remove(field);
        let err = validate(&key.to_string(), &serde_json::to_vec(&v).unwrap()).unwrap_err();
        prop_assert_eq!(err.code(), "missing-field");
        let path = format!("/{field}");
        prop_assert_eq!(err.path(), Some(path.as_str()));
    }

    /// A producer, recipient or type the catalogue does not allow is refused, naming which.
    #[test]
    fn directions_are_enforced((key, msg) in valid_pair(), producer in device(), recipient in device(), kind in message_type()) {
        let spec = lookup_command(msg.command.name()).unwrap();
        let mut moved = msg.clone();
        moved.producer = producer;
        let body = serde_json::to_vec(&moved).unwrap();
        let key2 = RoutingKey::new(recipient, kind);
        let got = validate(&key2.to_string(), &body);
        let expected_code = if !spec.senders.contains(&producer) {
            Some("sender-not-allowed")
        } else if !spec.recipients.contains(&recipient) {
            Some("recipient-not-allowed")
        } else if !spec.message_types.contains(&kind) {
            Some("message-type-not-allowed")
        } else {
            None
        };
        prop_assert_eq!(got.as_ref().err().map(ValidationError::code), expected_code);
        let _ = key;
    }

    /// Objects built from a command's field names and near-miss values: validation never
    /// reports that the schema and the typed payload disagree, so whatever the schema accepts
    /// the typed payload accepts too.
    #[test]
    fn schema_acceptance_implies_typed_acceptance(
        ci in any::<prop::sample::Index>(),
        picks in prop::collection::vec((any::<prop::sample::Index>(), near_miss()), 0..8),
        strict in any::<bool>(),
    ) {
        let spec = ci.get(catalogue());
        let schema = spec.payload_schema();
        let names: Vec<String> = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let mut obj = Map::new();
        obj.insert("Producer".into(), spec.senders[0].as_str().into());
        obj.insert("command".into(), spec.name.into());
        for (i, v) in picks {
            if !names.is_empty() {
                obj.insert(i.get(&names).clone(), v);
            }
        }
        let key = RoutingKey::new(spec.recipients[0], spec.message_types[0]).to_string();
        let mut validator = Validator::new();
        validator.reject_unknown_fields = strict;
        let body = serde_json::to_vec(&Value::Object(obj)).unwrap();
        match validator.validate(&key, &body) {
            Ok(v) => prop_assert_eq!(v.message.command.name(), spec.name),
            Err(e) => {
                prop_assert_ne!(e.code(), "invalid-payload", "{}", e);
                prop_assert!(e.path().is_some_and(|p| p.len() > 1), "{}", e);
            }
        }
    }

    /// Arbitrary bytes and keys never panic, and the key is judged first.
    #[test]
    fn arbitrary_input_never_panics(key in "[a-z.*#]{0,24}", payload in prop::collection::vec(any::<u8>(), 0..256)) {
        let got = validate(&key, &payload);
        if RoutingKey::parse(&key).is_err() {
            prop_assert_eq!(got.unwrap_err().code(), "bad-routing-key");
        }
        let _ = Validator::new().validate_broadcast(&payload);
    }

    /// Routing keys parse exactly when they are one of the 15 valid strings.
    #[test]
    fn routing_keys_parse_iff_valid(
        words in prop::collection::vec(prop::sample::select(vec![
            "webos", "server", "smarthome", "car", "android", "camera", "info", "error",
            "warning", "", "Webos", "*", "#", "x",
        ]), 0..5)
    ) {
        let key = words.join(".");
        let valid = words.len() == 3
            && words[0] == "webos"
            && Device::ALL.iter().any(|d| d.as_str() == words[1])
            && MessageType::ALL.iter().any(|t| t.as_str() == words[2]);
        match RoutingKey::parse(&key) {
            Ok(k) => {
                prop_assert!(valid);
                prop_assert_eq!(k.to_string(), key);
            }
            Err(_) => prop_assert!(!valid),
        }
    }
}
