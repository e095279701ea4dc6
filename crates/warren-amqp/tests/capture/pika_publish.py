#!/usr/bin/env python3
"""The pika session captured in tests/vectors/pika_*.bin (run through proxy.py).

    pika_publish.py PORT
"""
import datetime
import decimal
import sys

import pika

port = int(sys.argv[1])
params = pika.ConnectionParameters(
    host="127.0.0.1", port=port, credentials=pika.PlainCredentials("rabbit", "MQ321"),
    heartbeat=60, frame_max=4096,
)
conn = pika.BlockingConnection(params)
ch = conn.channel()
ch.confirm_delivery()
ch.exchange_declare("warren-capture-pika", exchange_type="topic", durable=False, auto_delete=True)
q = ch.queue_declare("", exclusive=True, arguments={"x-max-length": 100, "x-queue-mode": "lazy"})
ch.queue_bind(q.method.queue, "warren-capture-pika", routing_key="car.*.status")
props = pika.BasicProperties(
    content_type="application/json", content_encoding="utf-8", delivery_mode=2, priority=5,
    correlation_id="corr-1", reply_to="car2home.replies", expiration="60000",
    message_id="msg-1", timestamp=1700000000, type="status", user_id="rabbit", app_id="car2home",
    headers={"car": "42", "n": 7, "d": decimal.Decimal("1.50"), "t": datetime.datetime(2024, 1, 2, 3, 4, 5), "big": 2**40, "raw": b"\x00\xff", "none": None, "flag": True, "list": [1, "two"], "nested": {"a": 1}},
)
ch.basic_publish("warren-capture-pika", "car.42.status", b'{"online":true}', props)
ch.basic_publish("warren-capture-pika", "car.42.status", b"", pika.BasicProperties())
ch.basic_publish("warren-capture-pika", "car.42.status", b"y" * 10000)
method, _props, body = ch.basic_get(q.method.queue, auto_ack=True)
ch.close()
conn.close()
