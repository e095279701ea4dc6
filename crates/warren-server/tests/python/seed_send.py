"""The seed's first pika example: send "Hello World!" to queue icecoffe via the default exchange.

Usage: python seed_send.py HOST PORT [BODY]
"""

import sys

import pika

host, port = sys.argv[1], int(sys.argv[2])
body = sys.argv[3] if len(sys.argv) > 3 else "Hello World!"

connection = pika.BlockingConnection(pika.ConnectionParameters(host=host, port=port))
channel = connection.channel()
channel.queue_declare(queue="icecoffe")
channel.basic_publish(exchange="", routing_key="icecoffe", body=body)
print(f" [x] Sent {body!r}")
connection.close()
