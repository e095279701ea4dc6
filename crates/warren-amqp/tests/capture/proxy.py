#!/usr/bin/env python3
"""A logging TCP proxy used once to capture real AMQP client traffic for test vectors.

    proxy.py LISTEN_PORT OUT_PREFIX [UPSTREAM_HOST:PORT]

Accepts one connection on 127.0.0.1:LISTEN_PORT, relays it to the upstream broker
(default 127.0.0.1:26672, a RabbitMQ), and writes the bytes of each direction to
OUT_PREFIX_client.bin and OUT_PREFIX_server.bin. Exits when both sides are closed.
"""
import socket
import sys
import threading


def pump(src, dst, out, lock):
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
        with lock:
            out.write(data)
            out.flush()
        dst.sendall(data)


def main():
    port = int(sys.argv[1])
    prefix = sys.argv[2]
    host, up_port = (sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1:26672").rsplit(":", 1)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    print("listening", flush=True)
    client, _ = listener.accept()
    upstream = socket.create_connection((host, int(up_port)))
    lock = threading.Lock()
    with open(prefix + "_client.bin", "wb") as c_out, open(prefix + "_server.bin", "wb") as s_out:
        threads = [
            threading.Thread(target=pump, args=(client, upstream, c_out, lock)),
            threading.Thread(target=pump, args=(upstream, client, s_out, lock)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


if __name__ == "__main__":
    main()
