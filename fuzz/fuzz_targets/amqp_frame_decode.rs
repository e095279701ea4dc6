//! AMQP 0-9-1 frame decoding: whole vs fuzzer-chunked input, re-encode round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    warren_amqp::fuzzing::decode_frames(data);
});
