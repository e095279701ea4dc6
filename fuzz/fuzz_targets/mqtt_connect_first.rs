//! MQTT decoding as a server sees a new connection: level unknown until CONNECT, then the
//! CONNECT's level; every decoded packet must survive an encode/decode round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    warren_mqtt::fuzzing::decode_at(None, data);
});
