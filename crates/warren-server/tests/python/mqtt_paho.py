"""MQTT cases driven by paho-mqtt (3.1.1 and 5.0), with pika on the AMQP side.

Run as ``python mqtt_paho.py HOST AMQP_PORT CASE MQTT_PORT``. The broker's MQTT front must bridge
into ``webos.topic`` (the Car2Home configuration).
"""

import json
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
import pika

from warren_testlib import check, drain, eq, run, wait_for, CaseFailed

BODY = json.dumps({"Producer": "smarthome", "command": "sensor", "sensor": "temperature", "value": 23.5}).encode()


def cid(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Client:
    """A paho client that records what it receives, with blocking helpers."""

    def __init__(self, ctx, client_id=None, v5=False, clean=True, user="guest", password="guest",
                 will=None, keepalive=60, props=None):
        self.v5 = v5
        proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or cid("paho"),
                             protocol=proto, clean_session=None if v5 else clean)
        if user is not None:
            self.c.username_pw_set(user, password)
        if will:
            self.c.will_set(**will)
        self.messages = []
        self.connack = None
        self.disconnected = None
        self.lock = threading.Lock()
        self.c.on_message = self._on_message
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = self._on_disconnect
        kw = {}
        if v5:
            kw["clean_start"] = clean
            if props is not None:
                kw["properties"] = props
        self.c.connect(ctx.host, int(ctx.args[0]), keepalive=keepalive, **kw)
        self.c.loop_start()
        wait_for(lambda: self.connack is not None, what="CONNACK")

    def _on_message(self, c, u, msg):
        with self.lock:
            self.messages.append(msg)

    def _on_connect(self, c, u, flags, rc, props):
        self.connack = (flags, rc, props)

    def _on_disconnect(self, c, u, flags, rc, props):
        self.disconnected = rc

    def ok(self):
        return not self.connack[1].is_failure

    def subscribe(self, topic, qos=0, **opts):
        done = threading.Event()
        result = {}

        def on_sub(c, u, mid, rcs, props):
            result["rcs"] = rcs
            done.set()

        self.c.on_subscribe = on_sub
        if self.v5:
            props = opts.pop("properties", None)
            self.c.subscribe(topic, options=SubscribeOptions(qos=qos, **opts), properties=props)
        else:
            self.c.subscribe(topic, qos)
        check(done.wait(5), f"SUBACK for {topic}")
        return result["rcs"]

    def publish(self, topic, payload, qos=0, retain=False, properties=None):
        info = self.c.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        if qos > 0:
            info.wait_for_publish(5)
            check(info.is_published(), f"publish to {topic} acknowledged")
        return info

    def wait(self, n, timeout=5.0):
        wait_for(lambda: len(self.messages) >= n, timeout=timeout, what=f"{n} MQTT messages")
        time.sleep(0.3)
        return list(self.messages)

    def stop(self, clean=True):
        if clean:
            self.c.disconnect()
        self.c.loop_stop()
        if not clean:
            # Drop the socket without DISCONNECT: an abnormal end.
            self.c.socket().close()


def bound_queue(ch, pattern, exchange="webos.topic"):
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(q, exchange, pattern)
    return q


# ---- Car2Home cross-protocol -------------------------------------------------------------------

def case_car2home_mqtt_to_amqp(ctx):
    """An MQTT 3.1.1 publish on webos/smarthome/info reaches a pika queue bound to webos.topic
    with webos.smarthome.* (QoS 0 and QoS 1), with RabbitMQ's x-mqtt-publish-qos header."""
    ch = ctx.channel()
    q = bound_queue(ch, "webos.smarthome.*")
    c = Client(ctx)
    c.publish("webos/smarthome/info", BODY, qos=0)
    c.publish("webos/smarthome/info", BODY, qos=1)
    got = drain(ch, q, 2)
    eq([m[0].routing_key for m in got], ["webos.smarthome.info"] * 2, "routing keys")
    eq([m[2] for m in got], [BODY, BODY], "bodies")
    eq([m[1].headers["x-mqtt-publish-qos"] for m in got], [0, 1], "publish qos header")
    eq(got[1][1].delivery_mode, 2, "QoS 1 is persistent")
    c.stop()


def case_car2home_amqp_to_mqtt(ctx):
    """An AMQP publish with key webos.car.info reaches an MQTT subscriber on webos/car/+."""
    c = Client(ctx)
    eq(c.subscribe("webos/car/+", 1), [mqtt.ReasonCode(PacketTypes.SUBACK, identifier=1)], "granted")
    ch = ctx.channel()
    ch.basic_publish("webos.topic", "webos.car.info", BODY)
    ch.basic_publish("webos.topic", "webos.home.info", b"not for the car")
    msgs = c.wait(1)
    eq([(m.topic, m.payload) for m in msgs], [("webos/car/info", BODY)], "deliveries")
    eq(msgs[0].qos, 1, "AMQP messages arrive with the subscription QoS")
    c.stop()


def case_car2home_fanout_emergency(ctx):
    """An emergency message on webos.fanout reaches every device queue, and an MQTT publish on
    webos/car/info reaches the car's queue."""
    ch = ctx.channel()
    for d in ["server", "smarthome", "car", "android", "camera"]:
        ch.queue_purge(d)
    body = json.dumps({"Producer": "server", "command": "emergency"}).encode()
    ch.basic_publish("webos.fanout", "", body)
    for d in ["server", "smarthome", "car", "android", "camera"]:
        got = drain(ch, d, 1)
        eq(got[0][2], body, f"emergency in {d}")
    c = Client(ctx)
    c.publish("webos/car/info", BODY, qos=1)
    got = drain(ch, "car", 1)
    eq(got[0][0].routing_key, "webos.car.info", "device queue gets MQTT publishes")
    c.stop()


def case_mqtt_to_mqtt_qos(ctx):
    """MQTT to MQTT: delivered QoS is min(publish, subscription); wildcards + and # bridge as
    AMQP * and #; a '.' inside a topic level survives the round trip."""
    sub = Client(ctx)
    sub.subscribe("t1/#", 1)
    sub.subscribe("t2/+/x.y", 0)
    pub = Client(ctx)
    pub.publish("t1/a/b", b"q0", qos=0)
    pub.publish("t1", b"q1", qos=1)
    pub.publish("t2/k/x.y", b"dot", qos=1)
    msgs = sub.wait(3)
    got = sorted((m.topic, m.payload, m.qos) for m in msgs)
    eq(got, [("t1", b"q1", 1), ("t1/a/b", b"q0", 0), ("t2/k/x.y", b"dot", 0)], "deliveries")
    pub.stop()
    sub.stop()


def case_prefetch_limits_unacked(ctx):
    """prefetch: at most 10 unacknowledged QoS 1 deliveries (the 11th waits for a PUBACK)."""
    sub = Client(ctx)
    sub.c.manual_ack_set(True)
    sub.subscribe("pf/#", 1)
    ch = ctx.channel()
    for i in range(15):
        ch.basic_publish("webos.topic", "pf.x", str(i).encode())
    msgs = sub.wait(10)
    eq(len(msgs), 10, "deliveries before any ack")
    for m in msgs:
        sub.c.ack(m.mid, m.qos)
    msgs = sub.wait(15)
    eq([m.payload for m in msgs], [str(i).encode() for i in range(15)], "all, in order")
    sub.stop()


if __name__ == "__main__":
    run(globals())
