//! AMQP 0-9-1 message assembly: frames into per-channel assemblers, messages split and rebuilt.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    warren_amqp::fuzzing::assemble(data);
});
