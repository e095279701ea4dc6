"""The seed's second pika example: consume queue icecoffe with auto_ack.

Usage: python seed_receive.py HOST PORT BODY -- consumes until BODY arrives (older messages left
by earlier runs are printed and skipped); exits 1 if it does not arrive within 10 seconds.
"""

import sys

import pika

host, port, want = sys.argv[1], int(sys.argv[2]), sys.argv[3]

connection = pika.BlockingConnection(pika.ConnectionParameters(host=host, port=port))
channel = connection.channel()
channel.queue_declare(queue="icecoffe")
found = []


def callback(ch, method, properties, body):
    print(f" [x] Received {body.decode()!r}")
    if body.decode() == want:
        found.append(body)
        ch.stop_consuming()


channel.basic_consume(queue="icecoffe", on_message_callback=callback, auto_ack=True)
connection.call_later(10, channel.stop_consuming)
channel.start_consuming()
connection.close()
if not found:
    print(f"FAIL seed_receive: {want!r} did not arrive on icecoffe within 10 s", file=sys.stderr)
    sys.exit(1)
print("PASS seed_receive")
