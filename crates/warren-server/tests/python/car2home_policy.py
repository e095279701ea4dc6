"""The Car2Home validation policy on webos.topic, seen by pika (publisher confirms) and paho-mqtt.

Run as ``python car2home_policy.py HOST AMQP_PORT CASE MQTT_PORT PROMETHEUS_ADDR``. The broker
must run with ``[car2home] validate = true`` and the Car2Home topology (webos.dlx -> webos.invalid),
its MQTT front bridged into webos.topic.
"""

import json
import re
import socket
import threading
import urllib.request
import uuid

import paho.mqtt.client as mqtt
import pika
import pika.exceptions

from warren_testlib import check, eq, run, wait_for, CaseFailed

SIGNUP = {"Producer": "android", "command": "signup", "UID": "eAMHGLmiBGO76PIQ54O9CpsqTb23",
          "name": "Hong-Gil-Dong"}
NO_UID = {"Producer": "android", "command": "signup", "name": "Hong-Gil-Dong"}


def invalid_total(ctx):
    """warren_messages_invalid_total from the Prometheus endpoint."""
    with urllib.request.urlopen(f"http://{ctx.args[1]}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r"^warren_messages_invalid_total (\d+)$", text, re.M)
    check(m is not None, "warren_messages_invalid_total missing from /metrics")
    return int(m.group(1))


def get_one(ch, queue, what):
    method, props, body = None, None, None
    def got():
        nonlocal method, props, body
        method, props, body = ch.basic_get(queue, auto_ack=True)
        return method is not None
    wait_for(got, what=what)
    return method, props, body


def purge(ch, *queues):
    for q in queues:
        ch.queue_purge(q)


def case_amqp_invalid_is_nacked_dead_lettered_and_counted(ctx):
    """With confirms, a valid sign-up is acked and delivered to `server`; one without UID and one
    on a bad routing key are nacked, not delivered, dead-lettered to webos.invalid with the
    x-car2home-error headers, and counted."""
    before = invalid_total(ctx)
    ch = ctx.channel()
    purge(ch, "server", "webos.invalid")
    ch.confirm_delivery()
    ch.basic_publish("webos.topic", "webos.server.info", json.dumps(SIGNUP).encode())
    _, _, body = get_one(ch, "server", "the valid sign-up in `server`")
    eq(json.loads(body), SIGNUP, "delivered sign-up")

    try:
        ch.basic_publish("webos.topic", "webos.server.info", json.dumps(NO_UID).encode(),
                         pika.BasicProperties(headers={"trace": "t-1"}))
        raise CaseFailed("a sign-up without UID was acked")
    except pika.exceptions.NackError:
        pass
    method, props, body = get_one(ch, "webos.invalid", "the dead letter in webos.invalid")
    eq(json.loads(body), NO_UID, "dead-lettered body")
    eq((method.exchange, method.routing_key), ("webos.topic", "webos.server.info"), "original route")
    h = props.headers or {}
    eq(h.get("x-car2home-error"), "missing-field", "x-car2home-error")
    eq(h.get("x-car2home-error-path"), "/UID", "x-car2home-error-path")
    eq(h.get("x-car2home-error-text"), "/UID: missing field; expected string of 1 to 128 characters",
       "x-car2home-error-text")
    eq(h.get("trace"), "t-1", "the publisher's own header")

    try:
        ch.basic_publish("webos.topic", "webos.fridge.info", json.dumps(SIGNUP).encode())
        raise CaseFailed("a message on webos.fridge.info was acked")
    except pika.exceptions.NackError:
        pass
    _, props, _ = get_one(ch, "webos.invalid", "the bad-key dead letter")
    eq(props.headers.get("x-car2home-error"), "bad-routing-key", "bad key code")
    check("x-car2home-error-path" not in props.headers, "no path for a routing-key error")

    eq(ch.queue_declare("server", passive=True).method.message_count, 0, "nothing more in `server`")
    wait_for(lambda: invalid_total(ctx) == before + 2, what="warren_messages_invalid_total += 2")

    # webos.fanout is not validated (only webos.topic is): anything goes to every device.
    purge(ch, "car")
    ch.basic_publish("webos.fanout", "", b"not json")
    _, _, body = get_one(ch, "car", "the fanout message in `car`")
    eq(body, b"not json", "fanout body")


class V5:
    """A paho MQTT 5 client recording PUBACK reason codes by message id."""

    def __init__(self, ctx):
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"c2h-{uuid.uuid4().hex[:8]}",
                             protocol=mqtt.MQTTv5)
        self.acks = {}
        self.connected = threading.Event()
        self.c.on_connect = lambda c, u, f, rc, p: self.connected.set()
        self.c.on_publish = self._on_publish
        self.c.connect(ctx.host, int(ctx.args[0]))
        self.c.loop_start()
        check(self.connected.wait(5), "no CONNACK")

    def _on_publish(self, c, u, mid, rc, props):
        self.acks[mid] = rc

    def publish(self, topic, body, qos):
        info = self.c.publish(topic, body, qos=qos)
        wait_for(lambda: info.mid in self.acks, what=f"the ack of {topic} at QoS {qos}")
        return self.acks[info.mid]

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def varint(n):
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_str(s):
    b = s.encode()
    return len(b).to_bytes(2, "big") + b


def read_packet(sock):
    """(first byte, body) of the next MQTT packet."""
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            check(chunk, "connection closed by the broker")
            buf += chunk
        return buf
    first = exact(1)[0]
    length, shift = 0, 0
    while True:
        b = exact(1)[0]
        length += (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return first, exact(length)


def pubrec_reason(ctx, topic, payload):
    """Publish at QoS 2 over a raw MQTT 5 socket and return the PUBREC reason code (paho
    ignores it: it sends PUBREL whatever the PUBREC says)."""
    with socket.create_connection((ctx.host, int(ctx.args[0])), timeout=5) as sock:
        var = mqtt_str("MQTT") + bytes([5, 0x02, 0, 60, 0]) + mqtt_str(f"c2h-raw-{uuid.uuid4().hex[:8]}")
        sock.sendall(b"\x10" + varint(len(var)) + var)
        first, body = read_packet(sock)
        eq((first, body[1]), (0x20, 0), "CONNACK success")
        var = mqtt_str(topic) + b"\x00\x07" + b"\x00" + payload
        sock.sendall(b"\x34" + varint(len(var)) + var)
        first, body = read_packet(sock)
        eq((first, body[:2]), (0x50, b"\x00\x07"), "PUBREC for packet 7")
        reason = body[2] if len(body) > 2 else 0
        sock.sendall(b"\xe0\x00")  # DISCONNECT
        return reason


def case_mqtt5_invalid_publish_gets_0x99(ctx):
    """MQTT 5 at QoS 1: a sensor report with a string value gets PUBACK 0x99 (payload format
    invalid) and is dead-lettered; a valid one gets 0x00 and reaches `server`. At QoS 2 the
    PUBREC says 0x99 too (checked over a raw socket). The connection stays up throughout."""
    ch = ctx.channel()
    purge(ch, "server", "webos.invalid")
    before = invalid_total(ctx)
    c = V5(ctx)
    bad = json.dumps({"Producer": "smarthome", "command": "sensor", "sensor": "temperature", "value": "hot"})
    rc = c.publish("webos/server/info", bad, 1)
    eq(rc.value, 0x99, f"PUBACK reason for an invalid payload ({rc})")
    good = json.dumps({"Producer": "smarthome", "command": "sensor", "sensor": "temperature", "value": 23.5})
    rc = c.publish("webos/server/info", good, 1)
    eq(rc.value, 0x00, f"PUBACK reason for a valid payload ({rc})")
    check(c.c.is_connected(), "the client was disconnected")
    c.close()
    eq(pubrec_reason(ctx, "webos/server/info", bad.encode()), 0x99, "PUBREC reason at QoS 2")
    _, _, body = get_one(ch, "server", "the valid reading in `server`")
    eq(json.loads(body)["value"], 23.5, "delivered reading")
    _, props, _ = get_one(ch, "webos.invalid", "the dead-lettered reading")
    eq(props.headers.get("x-car2home-error"), "wrong-type", "code")
    eq(props.headers.get("x-car2home-error-path"), "/value", "path")
    wait_for(lambda: invalid_total(ctx) == before + 2, what="warren_messages_invalid_total += 2")


def case_mqtt311_invalid_publish_keeps_the_connection(ctx):
    """MQTT 3.1.1 cannot refuse a publish: an invalid one is PUBACKed, dead-lettered and the
    connection stays up (a later valid publish still arrives)."""
    ch = ctx.channel()
    purge(ch, "server", "webos.invalid")
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"c2h-{uuid.uuid4().hex[:8]}",
                    protocol=mqtt.MQTTv311)
    acked = set()
    c.on_publish = lambda cl, u, mid, rc, p: acked.add(mid)
    c.connect(ctx.host, int(ctx.args[0]))
    c.loop_start()
    bad = c.publish("webos/server/info", b"{", qos=1)
    wait_for(lambda: bad.mid in acked, what="PUBACK of the invalid publish")
    good = c.publish("webos/server/info", json.dumps(SIGNUP), qos=1)
    wait_for(lambda: good.mid in acked, what="PUBACK of the valid publish")
    check(c.is_connected(), "the 3.1.1 client was disconnected")
    c.disconnect()
    c.loop_stop()
    _, _, body = get_one(ch, "server", "the valid sign-up in `server`")
    eq(json.loads(body), SIGNUP, "delivered sign-up")
    _, props, _ = get_one(ch, "webos.invalid", "the dead-lettered publish")
    eq(props.headers.get("x-car2home-error"), "not-json", "code")


if __name__ == "__main__":
    run(globals())
