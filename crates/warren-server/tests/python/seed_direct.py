"""The seed's third pika example: publish through direct exchange test321 with key amqtest.

Usage: python seed_direct.py HOST PORT -- also binds an exclusive queue with key amqtest first
and checks that the message arrives there (and that key "other" does not route to it).
"""

import sys
import uuid

import pika

host, port = sys.argv[1], int(sys.argv[2])
body = f"Hello direct {uuid.uuid4().hex[:8]}"

connection = pika.BlockingConnection(pika.ConnectionParameters(host=host, port=port))
channel = connection.channel()
channel.exchange_declare(exchange="test321", exchange_type="direct")
result = channel.queue_declare(queue="", exclusive=True)
queue = result.method.queue
channel.queue_bind(exchange="test321", queue=queue, routing_key="amqtest")

channel.basic_publish(exchange="test321", routing_key="other", body="not for amqtest")
channel.basic_publish(exchange="test321", routing_key="amqtest", body=body)
print(f" [x] Sent {body!r} to test321/amqtest")

method, _, got = channel.basic_get(queue, auto_ack=True)
for _ in range(50):
    if method is not None:
        break
    connection.sleep(0.1)
    method, _, got = channel.basic_get(queue, auto_ack=True)
if method is None or got.decode() != body:
    print(f"FAIL seed_direct: expected {body!r} on the amqtest binding, got {got!r}", file=sys.stderr)
    sys.exit(1)
method, _, extra = channel.basic_get(queue, auto_ack=True)
if method is not None:
    print(f"FAIL seed_direct: key 'other' was routed to the amqtest binding: {extra!r}", file=sys.stderr)
    sys.exit(1)
connection.close()
print("PASS seed_direct")
