//! Fuzz targets for Warren decoders live in `fuzz_targets/`.
