"""Capture real MQTT client traffic as test vectors for warren-mqtt.

Runs a logging TCP proxy on 127.0.0.1:26985 in front of Mosquitto (127.0.0.1:26884), drives
mosquitto_pub / mosquitto_sub and paho-mqtt through it, splits each direction of every connection
into whole MQTT packets and writes one `<name>.vec` file per scenario:

    # comment lines
    level <3|4|5>
    c <hex>      one packet sent by the client
    s <hex>      one packet sent by the broker

Usage (paho-mqtt 2.x installed): python3 capture.py [out_dir]
"""

import os
import socket
import subprocess
import sys
import threading
import time

UPSTREAM = ("127.0.0.1", 26884)
LISTEN = ("127.0.0.1", 26985)
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

_lock = threading.Lock()
_conns = []  # list of [bytearray client->server, bytearray server->client]


def _pump(src, dst, buf):
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        if not data:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return
        with _lock:
            buf.extend(data)
        try:
            dst.sendall(data)
        except OSError:
            return


def _serve(listener):
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection(UPSTREAM)
        bufs = [bytearray(), bytearray()]
        with _lock:
            _conns.append(bufs)
        threading.Thread(target=_pump, args=(client, upstream, bufs[0]), daemon=True).start()
        threading.Thread(target=_pump, args=(upstream, client, bufs[1]), daemon=True).start()


def split_packets(data):
    """Splits a byte stream into whole MQTT packets using the Remaining Length varint."""
    out, i = [], 0
    while i < len(data):
        j, mult, length = i + 1, 1, 0
        while True:
            b = data[j]
            length += (b & 0x7F) * mult
            mult *= 128
            j += 1
            if not b & 0x80:
                break
        out.append(bytes(data[i : j + length]))
        i = j + length
    return out


def take():
    time.sleep(0.3)
    with _lock:
        conns = [(bytes(a), bytes(b)) for a, b in _conns]
        _conns.clear()
    return conns


def write(name, level, comment, conns):
    path = os.path.join(OUT, name + ".vec")
    with open(path, "w") as f:
        for line in comment.strip().splitlines():
            f.write("# " + line + "\n")
        f.write(f"level {level}\n")
        for c2s, s2c in conns:
            # Interleave is not recorded: all client packets of a connection, then the broker's.
            for p in split_packets(c2s):
                f.write("c " + p.hex() + "\n")
            for p in split_packets(s2c):
                f.write("s " + p.hex() + "\n")
    print("wrote", path)


def run(cmd):
    subprocess.run(cmd, check=True, timeout=10)


def mosquitto(version, level):
    port = str(LISTEN[1])
    base = ["-h", LISTEN[0], "-p", port, "-V", version]
    v5 = version == "mqttv5"
    topic = f"warren/vectors/{version}/garage/door"
    pub = ["mosquitto_pub", *base, "-i", f"warren-pub-{version}", "-t", topic, "-m", "open",
           "-q", "1", "-r", "-u", "car2home", "-P", "s3cret", "-k", "30",
           "--will-topic", f"warren/vectors/{version}/status", "--will-payload", "gone",
           "--will-qos", "1", "--will-retain"]
    if v5:
        pub += ["-D", "connect", "session-expiry-interval", "60",
                "-D", "connect", "user-property", "client", "car",
                "-D", "will", "will-delay-interval", "5",
                "-D", "will", "content-type", "text/plain",
                "-D", "publish", "message-expiry-interval", "120",
                "-D", "publish", "content-type", "text/plain",
                "-D", "publish", "response-topic", "warren/reply",
                "-D", "publish", "correlation-data", "c0ffee",
                "-D", "publish", "user-property", "k", "v1",
                "-D", "publish", "user-property", "k", "v2",
                "-D", "publish", "payload-format-indicator", "1"]
    run(pub)
    write(f"mosquitto_pub_{version}", level,
          " ".join(pub).replace(port, "PROXY") + "\nretained QoS 1 publish with will, user/password",
          take())
    sub = ["mosquitto_sub", *base, "-i", f"warren-sub-{version}", "-t",
           f"warren/vectors/{version}/+/door", "-t", f"warren/vectors/{version}/#",
           "-q", "2", "-C", "1", "-W", "5", "-c"]
    if v5:
        sub += ["-D", "subscribe", "subscription-identifier", "7",
                "-D", "subscribe", "user-property", "room", "garage"]
    run(sub)
    write(f"mosquitto_sub_{version}", level,
          " ".join(sub).replace(port, "PROXY") + "\nsubscribe to two filters, receive the retained message",
          take())
    # Clear the retained message (empty retained publish, QoS 0).
    clear = ["mosquitto_pub", *base, "-i", f"warren-clear-{version}", "-t", topic, "-r", "-n"]
    run(clear)
    write(f"mosquitto_clear_{version}", level,
          " ".join(clear).replace(port, "PROXY") + "\nempty retained publish clears the topic",
          take())


def paho(protocol, level, name):
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    from paho.mqtt.subscribeoptions import SubscribeOptions

    v5 = protocol == mqtt.MQTTv5
    done = threading.Event()
    got = []
    kwargs = dict(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                  client_id=f"warren-paho-{name}", protocol=protocol)
    if not v5:
        kwargs["clean_session"] = True
    c = mqtt.Client(**kwargs)
    c.username_pw_set("car2home", "pässword")
    will_props = None
    if v5:
        will_props = Properties(PacketTypes.WILLMESSAGE)
        will_props.WillDelayInterval = 10
        will_props.UserProperty = [("who", "paho")]
    c.will_set(f"warren/vectors/{name}/lwt", b"\x00\x01offline", qos=2, retain=False,
               properties=will_props)
    base = f"warren/vectors/{name}"

    def on_message(client, userdata, msg):
        got.append(msg)
        if len(got) >= 3:
            done.set()

    c.on_message = on_message
    conn_props = None
    if v5:
        conn_props = Properties(PacketTypes.CONNECT)
        conn_props.SessionExpiryInterval = 0
        conn_props.ReceiveMaximum = 20
        conn_props.MaximumPacketSize = 65536
        conn_props.TopicAliasMaximum = 4
        conn_props.UserProperty = [("device", "phone"), ("device", "car")]
    c.connect(LISTEN[0], LISTEN[1], keepalive=45, properties=conn_props)
    c.loop_start()
    time.sleep(0.3)
    if v5:
        sub_props = Properties(PacketTypes.SUBSCRIBE)
        sub_props.SubscriptionIdentifier = 42
        c.subscribe([(f"{base}/sensors/+", SubscribeOptions(qos=2, noLocal=False,
                                                            retainAsPublished=True,
                                                            retainHandling=1)),
                     (f"{base}/#", SubscribeOptions(qos=1))], properties=sub_props)
    else:
        c.subscribe([(f"{base}/sensors/+", 2), (f"{base}/#", 1)])
    time.sleep(0.3)
    pub_props = None
    if v5:
        pub_props = Properties(PacketTypes.PUBLISH)
        pub_props.MessageExpiryInterval = 300
        pub_props.UserProperty = [("unit", "celsius")]
    c.publish(f"{base}/sensors/temp", b"21.5", qos=0, properties=pub_props)
    c.publish(f"{base}/sensors/hum", b"\xff" * 300, qos=1, properties=pub_props)
    c.publish(f"{base}/sensors/co2", "ünïcode ✓".encode(), qos=2, properties=pub_props)
    done.wait(5)
    c.unsubscribe([f"{base}/sensors/+", f"{base}/#"])
    time.sleep(0.3)
    c.disconnect()
    c.loop_stop()
    write(f"paho_{name}", level,
          f"paho-mqtt 2.x client, protocol {name}: connect with will + user/password, "
          "subscribe two filters, publish QoS 0/1/2, unsubscribe, disconnect",
          take())


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(LISTEN)
    listener.listen()
    threading.Thread(target=_serve, args=(listener,), daemon=True).start()
    mosquitto("mqttv311", 4)
    mosquitto("mqttv5", 5)
    import paho.mqtt.client as mqtt
    paho(mqtt.MQTTv31, 3, "v31")
    paho(mqtt.MQTTv311, 4, "v311")
    paho(mqtt.MQTTv5, 5, "v5")


if __name__ == "__main__":
    main()
