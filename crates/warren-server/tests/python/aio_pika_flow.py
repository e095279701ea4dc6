"""aio-pika's connect / declare / publish (with confirms) / consume flow.

Usage: python aio_pika_flow.py HOST PORT flow. aio-pika reads the server's capabilities table on
connect and turns publisher confirms on by default, so this also checks that they work.
"""

import asyncio
import sys

import aio_pika
import aiormq.exceptions

from warren_testlib import CaseFailed, check, eq, uniq


async def flow(host, port):
    url = f"amqp://guest:guest@{host}:{port}/"
    connection = await asyncio.wait_for(aio_pika.connect(url), 10)
    async with connection:
        channel = await connection.channel()  # publisher_confirms=True by default
        check(channel.publisher_confirms, "channel without publisher confirms")
        caps = connection.transport.connection.server_capabilities
        for cap in ("publisher_confirms", "basic.nack", "consumer_cancel_notify"):
            eq(caps.get(cap), True, f"server capability {cap}")
        await channel.set_qos(prefetch_count=10)
        exchange = await channel.declare_exchange(uniq("aio-x"), aio_pika.ExchangeType.TOPIC, auto_delete=True)
        queue = await channel.declare_queue(uniq("aio-q"), exclusive=True)
        await queue.bind(exchange, routing_key="webos.smarthome.*")
        n = 20
        for i in range(n):
            confirmation = await exchange.publish(
                aio_pika.Message(body=f"msg {i}".encode(), headers={"i": i}, content_type="text/plain"),
                routing_key="webos.smarthome.light",
            )
            check(confirmation is not None, f"publish {i} not confirmed")
        unroutable = await channel.default_exchange.publish(aio_pika.Message(b"x"), routing_key=uniq("nowhere"))
        check(unroutable is not None, "publish to no queue without mandatory is still confirmed")
        got = []
        async with queue.iterator() as it:
            async for message in it:
                async with message.process():
                    got.append((message.body.decode(), message.headers.get("i")))
                if len(got) == n:
                    break
        eq(got, [(f"msg {i}", i) for i in range(n)], "consumed messages in order with headers")
        await exchange.publish(aio_pika.Message(b"by get"), routing_key="webos.smarthome.tv")
        message = await queue.get(timeout=5)
        await message.ack()
        eq(message.body, b"by get", "basic.get body")
        check(await queue.get(fail=False) is None, "queue not empty at the end")
        try:
            await channel.declare_queue(uniq("missing"), passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity as e:
            check("NOT_FOUND - " in str(e), f"passive declare error {e!r}")
        else:
            raise CaseFailed("passive declare of a missing queue succeeded")


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    try:
        asyncio.run(asyncio.wait_for(flow(host, port), 30))
    except CaseFailed as e:
        print(f"FAIL aio_pika_flow: {e}", file=sys.stderr)
        sys.exit(1)
    print("PASS aio_pika_flow")


if __name__ == "__main__":
    main()
