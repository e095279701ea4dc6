"""MQTT cases driven by paho-mqtt (3.1.1 and 5.0), with pika on the AMQP side.

Run as ``python mqtt_paho.py HOST AMQP_PORT CASE MQTT_PORT``. The broker's MQTT front must bridge
into ``webos.topic`` (the Car2Home configuration).
"""

import json
import socket
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
import pika

import pika.exceptions

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



# ---- QoS 2, sessions, takeover, keep-alive ---------------------------------------------------

def case_qos2_end_to_end(ctx):
    """QoS 2 both ways (PUBREC/PUBREL/PUBCOMP): each message arrives exactly once at QoS 2."""
    sub = Client(ctx)
    sub.subscribe("q2/#", 2)
    pub = Client(ctx)
    for i in range(5):
        pub.publish("q2/x", str(i).encode(), qos=2)
    msgs = sub.wait(5)
    eq([(m.payload, m.qos) for m in msgs], [(str(i).encode(), 2) for i in range(5)], "deliveries")
    pub.stop()
    sub.stop()


def case_persistent_session_queues_offline(ctx):
    """clean session = false: the subscription survives a disconnect, QoS 1 messages published
    meanwhile are delivered on reconnect, and CONNACK says session present."""
    name = cid("persist")
    a = Client(ctx, client_id=name, clean=False)
    eq(a.connack[0].session_present, False, "first connect: no session")
    a.subscribe("ps/#", 1)
    a.stop()
    time.sleep(0.3)
    ch = ctx.channel()
    ch.basic_publish("webos.topic", "ps.x", b"while-away", pika.BasicProperties(delivery_mode=2))
    b = Client(ctx, client_id=name, clean=False)
    eq(b.connack[0].session_present, True, "session present")
    msgs = b.wait(1)
    eq([m.payload for m in msgs], [b"while-away"], "queued message")
    b.stop()
    c = Client(ctx, client_id=name, clean=True)
    eq(c.connack[0].session_present, False, "clean session discards it")
    c.stop()
    time.sleep(0.3)
    try:
        ch.queue_declare(f"mqtt-subscription-{name}qos1", passive=True)
        raise CaseFailed("queue of the discarded session still exists")
    except pika.exceptions.ChannelClosedByBroker:
        pass


def case_takeover_disconnects_old_client(ctx):
    """A second connection with the same client id takes the session over: the first is
    disconnected, the second receives."""
    name = cid("take")
    a = Client(ctx, client_id=name)
    a.subscribe("tk/#", 0)
    b = Client(ctx, client_id=name)
    wait_for(lambda: a.disconnected is not None, what="old client disconnected")
    b.subscribe("tk/#", 0)
    p = Client(ctx)
    p.publish("tk/1", b"x", qos=1)
    eq([m.payload for m in b.wait(1)], [b"x"], "new owner receives")
    eq(len(a.messages), 0, "old owner receives nothing")
    b.stop()
    p.stop()


def case_keepalive_enforced(ctx):
    """A client that stops sending within 1.5 x keep-alive is disconnected and its will sent."""
    watcher = Client(ctx)
    watcher.subscribe("ka/will", 0)
    name = cid("ka")
    a = Client(ctx, client_id=name, keepalive=1, will={"topic": "ka/will", "payload": b"gone"})
    a.c._keepalive = 3600  # stop paho's pings: the broker must notice the silence
    a.c._ping_t = time.time() + 3600
    msgs = watcher.wait(1, timeout=6)
    eq([m.payload for m in msgs], [b"gone"], "will after keep-alive timeout")
    watcher.stop()


# ---- retained and will --------------------------------------------------------------------------

def case_retained_delivered_on_subscribe(ctx):
    """A retained message is delivered to later subscribers with the retain flag; an empty
    retained publish clears it; live deliveries do not carry the retain flag."""
    t = "rt/" + uuid.uuid4().hex[:8]
    p = Client(ctx)
    p.publish(t, b"state-1", qos=1, retain=True)
    p.publish(t, b"state-2", qos=1, retain=True)
    s = Client(ctx)
    s.subscribe(t, 1)
    msgs = s.wait(1)
    eq([(m.payload, m.retain) for m in msgs], [(b"state-2", True)], "retained on subscribe")
    p.publish(t, b"live", qos=1, retain=True)
    msgs = s.wait(2)
    eq((msgs[1].payload, msgs[1].retain), (b"live", False), "live delivery")
    p.publish(t, b"", qos=1, retain=True)
    s2 = Client(ctx)
    s2.subscribe(t, 1)
    time.sleep(0.5)
    eq(len(s2.messages), 0, "cleared by an empty retained publish")
    for c in (p, s, s2):
        c.stop()


def case_will_on_abnormal_disconnect_only(ctx):
    """The will is published when the connection drops without DISCONNECT, not after one; it
    reaches AMQP queues too."""
    ch = ctx.channel()
    q = bound_queue(ch, "wl.*")
    w = Client(ctx)
    w.subscribe("wl/+", 0)
    a = Client(ctx, will={"topic": "wl/a", "payload": b"a-died", "qos": 1})
    b = Client(ctx, will={"topic": "wl/b", "payload": b"b-died", "qos": 1})
    a.stop(clean=True)
    b.stop(clean=False)
    msgs = w.wait(1)
    eq([(m.topic, m.payload) for m in msgs], [("wl/b", b"b-died")], "only the abnormal will")
    got = drain(ch, q, 1)
    eq(got[0][0].routing_key, "wl.b", "will on the AMQP side")
    w.stop()


# ---- login --------------------------------------------------------------------------------------

def case_login_rules(ctx):
    """Bad password: CONNACK 4; anonymous (no user name) logs in as the default user;
    'vhost:user' selects the vhost."""
    bad = Client(ctx, user="guest", password="wrong")
    eq(bad.connack[1].value, 0x86, "bad credentials (3.1.1 code 4)")
    anon = Client(ctx, user=None)
    check(anon.ok(), "anonymous accepted")
    anon.stop()
    vh = Client(ctx, user="/:guest", password="guest")
    check(vh.ok(), "vhost:user accepted")
    vh.stop()
    novh = Client(ctx, user="nope:guest", password="guest")
    eq(novh.connack[1].value, 0x87, "unknown vhost: not authorized (3.1.1 code 5)")


# ---- MQTT 5 -------------------------------------------------------------------------------------

def props(kind, **kw):
    p = Properties(kind)
    for k, v in kw.items():
        setattr(p, k, v)
    return p


def case_v5_connack_properties(ctx):
    """MQTT 5 CONNACK: assigned client identifier for an empty id, limits announced."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv5)
    got = {}
    c.on_connect = lambda c_, u, f, rc, p: got.update(rc=rc, p=p)
    c.username_pw_set("guest", "guest")
    c.connect(ctx.host, int(ctx.args[0]))
    c.loop_start()
    wait_for(lambda: "rc" in got, what="CONNACK")
    p = got["p"]
    check(p.AssignedClientIdentifier.startswith("warren-"), "assigned client id")
    eq(p.TopicAliasMaximum, 16, "topic alias maximum")
    eq(p.ReceiveMaximum, 65535, "receive maximum")
    eq(p.SharedSubscriptionAvailable, 1, "shared subscriptions")
    c.disconnect()
    c.loop_stop()


def case_v5_properties_cross_protocol(ctx):
    """User properties, content type, response topic and correlation data reach AMQP as
    headers / properties, and come back from AMQP to MQTT 5."""
    ch = ctx.channel()
    q = bound_queue(ch, "v5p.*")
    s = Client(ctx, v5=True)
    s.subscribe("v5p/+", 1)
    p = Client(ctx, v5=True)
    pp = props(PacketTypes.PUBLISH, UserProperty=[("device", "car")], ContentType="application/json",
               ResponseTopic="v5p/reply", CorrelationData=b"corr-1")
    p.publish("v5p/req", BODY, qos=1, properties=pp)
    got = drain(ch, q, 1)
    hp = got[0][1]
    eq(hp.headers.get("device"), "car", "user property as header")
    eq(hp.content_type, "application/json", "content type")
    eq(hp.reply_to, "v5p.reply", "response topic as reply_to")
    eq(hp.correlation_id, "corr-1", "correlation data as correlation_id")
    m = s.wait(1)[0]
    eq(m.properties.UserProperty, [("device", "car")], "MQTT->MQTT user property")
    ch.basic_publish("webos.topic", "v5p.answer", b"x", pika.BasicProperties(
        headers={"k": "v"}, content_type="text/plain", correlation_id="c2", reply_to="v5p.back"))
    m = s.wait(2)[1]
    eq(m.properties.UserProperty, [("k", "v")], "AMQP header as user property")
    eq(m.properties.ContentType, "text/plain", "content type back")
    eq(m.properties.CorrelationData, b"c2", "correlation id back")
    eq(m.properties.ResponseTopic, "v5p/back", "reply_to back")
    s.stop()
    p.stop()


def case_v5_no_matching_subscribers(ctx):
    """MQTT 5 PUBACK says 0x10 when nothing was subscribed."""
    c = Client(ctx, v5=True)
    got = {}
    c.c.on_publish = lambda c_, u, mid, rc, p: got.update(rc=rc)
    c.c.publish("nobody/" + uuid.uuid4().hex, b"x", qos=1)
    wait_for(lambda: "rc" in got, what="PUBACK")
    eq(got["rc"].value, 0x10, "no matching subscribers")
    c.stop()


def case_v5_subscription_options(ctx):
    """No Local, Retain As Published, Retain Handling and subscription identifiers."""
    t = "so/" + uuid.uuid4().hex[:8]
    c = Client(ctx, v5=True)
    c.subscribe(t + "/nl", 1, noLocal=True)
    c.subscribe(t + "/rap", 1, retainAsPublished=True,
                properties=props(PacketTypes.SUBSCRIBE, SubscriptionIdentifier=7))
    c.publish(t + "/nl", b"own", qos=1)
    other = Client(ctx, v5=True)
    other.publish(t + "/nl", b"other", qos=1)
    other.publish(t + "/rap", b"kept", qos=1, retain=True)
    msgs = c.wait(2)
    eq(sorted(m.payload for m in msgs), [b"kept", b"other"], "no local drops own message")
    rap = [m for m in msgs if m.payload == b"kept"][0]
    eq(rap.retain, True, "retain as published")
    eq(rap.properties.SubscriptionIdentifier, [7], "subscription identifier")
    d = Client(ctx, v5=True)
    d.subscribe(t + "/rap", 1, retainHandling=2)
    time.sleep(0.5)
    eq(len(d.messages), 0, "retain handling 2 sends nothing")
    for x in (c, other, d):
        x.stop()


def case_v5_shared_subscription(ctx):
    """$share/<group>/<filter>: each message reaches one member of the group."""
    g = uuid.uuid4().hex[:6]
    a = Client(ctx, v5=True)
    b = Client(ctx, v5=True)
    a.subscribe(f"$share/{g}/sh/#", 1)
    b.subscribe(f"$share/{g}/sh/#", 1)
    p = Client(ctx, v5=True)
    for i in range(10):
        p.publish("sh/x", str(i).encode(), qos=1)
    wait_for(lambda: len(a.messages) + len(b.messages) >= 10, what="10 deliveries")
    time.sleep(0.3)
    got = sorted(int(m.payload) for m in a.messages + b.messages)
    eq(got, list(range(10)), "each message once across the group")
    for x in (a, b, p):
        x.stop()


def case_v5_topic_alias_and_message_expiry(ctx):
    """Client-to-server topic aliases resolve; a message whose expiry passed while the session
    was offline is not delivered."""
    name = cid("exp")
    s = Client(ctx, client_id=name, v5=True, clean=True,
               props=props(PacketTypes.CONNECT, SessionExpiryInterval=60))
    s.subscribe("ta/#", 1)
    s.stop()
    p = Client(ctx, v5=True)
    p.publish("ta/long/topic", b"first", qos=1, properties=props(PacketTypes.PUBLISH, TopicAlias=1))
    p.publish("", b"aliased", qos=1, properties=props(PacketTypes.PUBLISH, TopicAlias=1))
    p.publish("ta/short", b"expires", qos=1, properties=props(PacketTypes.PUBLISH, MessageExpiryInterval=1))
    time.sleep(2.2)
    s2 = Client(ctx, client_id=name, v5=True, clean=False,
                props=props(PacketTypes.CONNECT, SessionExpiryInterval=60))
    eq(s2.connack[0].session_present, True, "session kept by Session Expiry Interval")
    msgs = s2.wait(2)
    eq([(m.topic, m.payload) for m in msgs], [("ta/long/topic", b"first"), ("ta/long/topic", b"aliased")],
       "aliases resolved, expired message dropped")
    s2.stop()
    p.stop()


def case_v5_will_delay(ctx):
    """Will Delay Interval: the will waits; a reconnect within the delay cancels it."""
    w = Client(ctx, v5=True)
    w.subscribe("wd/#", 0)
    name = cid("wd")
    cp = props(PacketTypes.CONNECT, SessionExpiryInterval=60)
    willp = props(PacketTypes.WILLMESSAGE, WillDelayInterval=1)
    a = Client(ctx, client_id=name, v5=True, props=cp,
               will={"topic": "wd/a", "payload": b"late", "properties": willp})
    a.stop(clean=False)
    time.sleep(0.4)
    eq(len(w.messages), 0, "not yet")
    msgs = w.wait(1, timeout=4)
    eq([m.payload for m in msgs], [b"late"], "after the delay")
    b = Client(ctx, client_id=name, v5=True, props=cp,
               will={"topic": "wd/b", "payload": b"cancelled", "properties": willp})
    b.stop(clean=False)
    c = Client(ctx, client_id=name, v5=True, props=cp)
    time.sleep(1.8)
    eq([m.payload for m in w.messages], [b"late"], "reconnect cancelled the second will")
    c.stop()
    w.stop()


def raw_v5_connect(ctx, client_id):
    """A raw MQTT 5 connection (for what paho will not send); returns the socket after CONNACK."""
    s = socket.create_connection((ctx.host, int(ctx.args[0])), timeout=5)
    cid_b = client_id.encode()
    body = (b"\x00\x04MQTT\x05\xc2\x00\x3c\x00" + len(cid_b).to_bytes(2, "big") + cid_b
            + b"\x00\x05guest\x00\x05guest")
    s.sendall(bytes([0x10, len(body)]) + body)
    eq(s.recv(2)[0], 0x20, "CONNACK")
    s.recv(256)
    return s


def case_v5_bad_input_disconnects(ctx):
    """Bad input gets its reason code in DISCONNECT and a closed connection, and the broker
    keeps serving others: a topic alias above the maximum (0x94), a malformed packet (0x81)."""
    s = raw_v5_connect(ctx, cid("bad"))
    body = b"\x00\x01x" + b"\x03\x23\x01\xf4" + b"hi"  # PUBLISH, Topic Alias 500
    s.sendall(bytes([0x30, len(body)]) + body)
    eq(s.recv(16), b"\xe0\x01\x94", "DISCONNECT topic alias invalid")
    eq(s.recv(16), b"", "closed")
    s = raw_v5_connect(ctx, cid("bad"))
    s.sendall(b"\x82\x05\x00\x01\x00\x00\x00")  # SUBSCRIBE with an empty filter list
    got = s.recv(16)
    check(got[:2] == b"\xe0\x01" and got[2] >= 0x80, f"DISCONNECT with an error code, got {got!r}")
    ok = Client(ctx, v5=True)
    check(ok.ok(), "others unaffected")
    ok.stop()


def case_v5_server_keep_alive(ctx):
    """max_keepalive lowers a larger keep-alive and says so with Server Keep Alive."""
    c = Client(ctx, v5=True, keepalive=600)
    eq(c.connack[2].ServerKeepAlive, 30, "server keep alive")
    c.stop()


if __name__ == "__main__":
    run(globals())
