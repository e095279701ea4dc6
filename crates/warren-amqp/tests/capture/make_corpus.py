#!/usr/bin/env python3
"""Writes the seed corpora of the amqp_* fuzz targets from the captured test vectors.

    python3 crates/warren-amqp/tests/capture/make_corpus.py   (from the workspace root)

Each seed is 5 control bytes (frame_max selector, then four read sizes; see
warren_amqp::fuzzing) followed by AMQP frames: whole captured streams, and every single frame.
"""
import hashlib
import os
import struct

ROOT = os.getcwd()
VECTORS = os.path.join(ROOT, "crates/warren-amqp/tests/vectors")
TARGETS = ["amqp_frame_decode", "amqp_assemble"]


def frames(stream):
    out, i = [], 0
    while i + 7 <= len(stream):
        (size,) = struct.unpack(">I", stream[i + 3:i + 7])
        out.append(stream[i:i + 8 + size])
        i += 8 + size
    return out


def main():
    seeds = []
    for name in sorted(os.listdir(VECTORS)):
        data = open(os.path.join(VECTORS, name), "rb").read()
        if name.endswith("_client.bin"):
            data = data[8:]
        seeds.append(bytes([0, 1, 7, 13, 200]) + data)
        seeds.append(bytes([1, 255, 3, 64, 2]) + data)
        fs = frames(data)
        for f in fs:
            seeds.append(bytes([0, 8, 8, 8, 8]) + f)
        # A content sequence (method, header, bodies) on its own.
        for i, f in enumerate(fs):
            if f[0] == 2 and i > 0:
                j = i + 1
                while j < len(fs) and fs[j][0] == 3:
                    j += 1
                seeds.append(bytes([1, 5, 9, 100, 4]) + b"".join(fs[i - 1:j]))
    for target in TARGETS:
        d = os.path.join(ROOT, "fuzz/corpus", target)
        os.makedirs(d, exist_ok=True)
        for s in seeds:
            open(os.path.join(d, hashlib.sha1(s).hexdigest()), "wb").write(s)
        print(target, len(set(seeds)), "seeds")


if __name__ == "__main__":
    main()
