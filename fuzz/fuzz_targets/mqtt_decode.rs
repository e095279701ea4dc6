//! MQTT decoding at a fuzzer-chosen level, maximum packet size and chunking: chunked vs whole
//! input must agree, and every decoded packet must survive an encode/decode round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    warren_mqtt::fuzzing::decode_chunked(data);
});
