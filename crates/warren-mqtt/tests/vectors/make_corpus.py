"""Writes the fuzz seed corpora for the warren-mqtt fuzz targets from the captured vectors.

    python3 crates/warren-mqtt/tests/vectors/make_corpus.py   (from the workspace root)

mqtt_decode inputs: [mode, k, k chunk-size bytes, stream] (see warren_mqtt::fuzzing::decode_chunked);
mqtt_connect_first inputs: a client's stream, CONNECT first.
"""

import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../../../.."))


def load(path):
    level, client, server = None, b"", b""
    for line in open(path):
        if line.startswith("#"):
            continue
        kind, value = line.split()
        if kind == "level":
            level = int(value)
        elif kind == "c":
            client += bytes.fromhex(value)
        else:
            server += bytes.fromhex(value)
    return level, client, server


def write(target, data):
    out = os.path.join(ROOT, "fuzz/corpus", target)
    os.makedirs(out, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


for name in sorted(os.listdir(HERE)):
    if not name.endswith(".vec"):
        continue
    level, client, server = load(os.path.join(HERE, name))
    selector = {3: 1, 4: 2, 5: 3}[level]
    write("mqtt_connect_first", client)
    # Client stream with the level unknown (CONNECT first), one byte at a time and in odd chunks.
    write("mqtt_decode", bytes([0, 0]) + client)
    write("mqtt_decode", bytes([0, 3, 2, 7, 30]) + client)
    # Server stream at its level; then with a 64-byte maximum packet size (4 * 16).
    write("mqtt_decode", bytes([selector, 2, 5, 11]) + server)
    write("mqtt_decode", bytes([selector + 16, 1, 63]) + server)
