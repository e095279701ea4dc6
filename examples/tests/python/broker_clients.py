"""Drives the `broker` example with real clients: paho-mqtt publishes to home/garage/light,
pika publishes to exchange `home` with key home.kitchen.light, then pika reads queue `lights`.

    python broker_clients.py AMQP_PORT MQTT_PORT

Prints one `got <routing key> <body>` line per message read from the queue.
"""

import sys

import paho.mqtt.client as mqtt
import pika

amqp_port, mqtt_port = int(sys.argv[1]), int(sys.argv[2])

client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="example-light-switch")
client.connect("127.0.0.1", mqtt_port)
client.loop_start()
client.publish("home/garage/light", b"off", qos=1).wait_for_publish(timeout=10)
client.disconnect()
client.loop_stop()

params = pika.ConnectionParameters(
    "127.0.0.1", amqp_port, credentials=pika.PlainCredentials("guest", "guest")
)
with pika.BlockingConnection(params) as conn:
    ch = conn.channel()
    ch.confirm_delivery()
    ch.basic_publish("home", "home.kitchen.light", b"on", mandatory=True)
    for _ in range(2):
        method, _props, body = ch.basic_get("lights", auto_ack=True)
        if method is None:
            print("queue empty")
        else:
            print("got", method.routing_key, body.decode())
