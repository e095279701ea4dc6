//! STOMP decoding at a fuzzer-chosen version, limits and chunking: chunked vs whole input must
//! agree, and every decoded frame must survive an encode/decode round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    warren_stomp::fuzzing::decode_chunked(data);
});
