"""Delivery through pika: consumers, qos, acks, redelivery, recover, cancel, confirms, returns."""

import pika
import pika.exceptions

from warren_testlib import check, eq, expect_channel_close, expect_connection_close, run, wait_for


def setup(ctx, n=0, prefix="m"):
    """A connection, a channel, a fresh queue holding n messages m0..m{n-1} (all routed)."""
    conn = ctx.connect()
    ch = conn.channel()
    q = ctx.queue()
    ch.queue_declare(q)
    for i in range(n):
        ch.basic_publish("", q, f"{prefix}{i}".encode())
    if n:
        wait_for(lambda: ch.queue_declare(q, passive=True).method.message_count == n, what=f"{n} messages in {q}")
    return conn, ch, q


def ready(ch, q):
    return ch.queue_declare(q, passive=True).method.message_count


def get(ch, q, auto_ack=False):
    method, props, body = ch.basic_get(q, auto_ack=auto_ack)
    check(method is not None, f"basic.get on {q}: queue unexpectedly empty")
    return method, body.decode()


SETTLE = 0.3  # seconds to wait for deliveries that must NOT come


def settle(conn, got, want, what):
    """Process events until `got` has `want` items (5 s at most), then SETTLE more seconds so
    that deliveries beyond the expected ones would show up."""
    wait_for(lambda: len(got) >= want, conn=conn, what=f"{want} deliveries ({what})")
    conn.process_data_events(time_limit=SETTLE)


def collect(conn, ch, q, want, auto_ack=False, **kw):
    """Start a consumer; return the list its deliveries (method, body) go to, once `want` have
    arrived and no more came within SETTLE seconds (later ones are appended too)."""
    got = []
    ch.basic_consume(q, lambda c, m, p, b: got.append((m, b.decode())), auto_ack=auto_ack, **kw)
    settle(conn, got, want, f"consumer on {q}")
    return got


def case_round_robin(ctx):
    """Messages to a queue with two consumers alternate between them."""
    conn, ch, q = setup(ctx)
    got = []
    chans = [conn.channel(), conn.channel()]
    for i, c in enumerate(chans):
        c.basic_consume(q, lambda c_, m, p, b, i=i: got.append((i, b.decode())), auto_ack=True)
    for n in range(10):
        ch.basic_publish("", q, f"m{n}".encode())
    wait_for(lambda: len(got) == 10, conn=conn, what="10 deliveries")
    eq(sorted(b for _, b in got), sorted(f"m{n}" for n in range(10)), "every message delivered once")
    order = [i for i, _ in got]
    eq(order.count(0), 5, f"deliveries to consumer 0 (order {order})")
    eq(order.count(1), 5, f"deliveries to consumer 1 (order {order})")


def case_prefetch_per_consumer(ctx):
    """basic.qos(prefetch_count=2, global=false) limits each consumer of the channel to 2 unacked."""
    conn, ch, q1 = setup(ctx, 5, "a")
    q2 = ctx.queue()
    ch.queue_declare(q2)
    for i in range(5):
        ch.basic_publish("", q2, f"b{i}".encode())
    wait_for(lambda: ready(ch, q2) == 5, what="5 messages in q2")
    c = conn.channel()
    c.basic_qos(prefetch_count=2)
    got1 = collect(conn, c, q1, 2)
    got2 = collect(conn, c, q2, 2)
    eq([b for _, b in got1], ["a0", "a1"], "first consumer's unacked deliveries")
    eq([b for _, b in got2], ["b0", "b1"], "second consumer's unacked deliveries")
    c.basic_ack(got1[0][0].delivery_tag)
    settle(conn, got1, 3, "first consumer after one ack")
    eq(len(got1), 3, "deliveries to the first consumer after one ack")
    eq(len(got2), 2, "deliveries to the second consumer after an ack of the first's")


def case_prefetch_global(ctx):
    """basic.qos(prefetch_count=3, global=true): RabbitMQ shares the 3 across the channel's consumers."""
    conn, ch, q1 = setup(ctx, 5, "a")
    q2 = ctx.queue()
    ch.queue_declare(q2)
    for i in range(5):
        ch.basic_publish("", q2, f"b{i}".encode())
    wait_for(lambda: ready(ch, q2) == 5, what="5 messages in q2")
    c = conn.channel()
    c.basic_qos(prefetch_count=3, global_qos=True)
    got1 = collect(conn, c, q1, 3)
    got2 = collect(conn, c, q2, 0)
    eq(len(got1) + len(got2), 3, f"unacked deliveries on the channel ({got1} + {got2})")
    eq(len(got1), 3, "the first consumer took the whole channel limit")
    c.basic_ack(got1[-1][0].delivery_tag, multiple=True)
    wait_for(lambda: len(got1) + len(got2) >= 6, conn=conn, what="deliveries after the ack")
    conn.process_data_events(time_limit=SETTLE)
    eq(len(got1) + len(got2), 6, "deliveries after acking all three")


def case_prefetch_both(ctx):
    """A per-consumer limit and a global limit together: each applies."""
    conn, ch, q1 = setup(ctx, 5, "a")
    c = conn.channel()
    c.basic_qos(prefetch_count=4, global_qos=True)
    c.basic_qos(prefetch_count=2, global_qos=False)
    got = collect(conn, c, q1, 2)
    eq(len(got), 2, "deliveries with per-consumer 2 under global 4")


def case_no_ack(ctx):
    """A no-ack consumer gets everything at once; nothing is requeued when its channel closes."""
    conn, ch, q = setup(ctx, 6)
    c = conn.channel()
    c.basic_qos(prefetch_count=1)  # ignored for no-ack consumers
    got = collect(conn, c, q, 6, auto_ack=True)
    eq(len(got), 6, "deliveries to the no-ack consumer")
    c.close()
    eq(ready(ch, q), 0, "ready messages after the no-ack consumer's channel closed")


def case_basic_get(ctx):
    """basic.get returns one message with the remaining count; get-empty when there is none."""
    conn, ch, q = setup(ctx, 2)
    method, props, body = ch.basic_get(q, auto_ack=True)
    eq((body, method.message_count, method.redelivered, method.routing_key, method.exchange),
       (b"m0", 1, False, q, ""), "first get-ok (body, message_count, redelivered, key, exchange)")
    method, _, body = ch.basic_get(q, auto_ack=False)
    eq((body, method.message_count), (b"m1", 0), "second get-ok")
    ch.basic_ack(method.delivery_tag)
    method, props, body = ch.basic_get(q)
    check(method is None, f"expected get-empty, got {method}")


def case_ack_multiple(ctx):
    """basic.ack with multiple=true settles every delivery up to the tag."""
    conn, ch, q = setup(ctx, 4)
    c = conn.channel()
    tags = [get(c, q)[0].delivery_tag for _ in range(4)]
    eq(tags, [1, 2, 3, 4], "delivery tags on a fresh channel")
    c.basic_ack(3, multiple=True)
    c.close()
    eq(ready(ch, q), 1, "ready after acking 1..3 and closing the channel")
    eq(get(ch, q, auto_ack=True)[1], "m3", "the unacked message came back")


def case_nack_multiple_requeue(ctx):
    """basic.nack multiple+requeue puts the messages back, redelivered, in order."""
    conn, ch, q = setup(ctx, 3)
    c = conn.channel()
    for _ in range(3):
        get(c, q)
    c.basic_nack(2, multiple=True, requeue=True)
    wait_for(lambda: ready(ch, q) == 2, what="2 requeued messages")
    m, body = get(c, q)
    eq((body, m.redelivered), ("m0", True), "first requeued message")
    c.basic_nack(0, multiple=True, requeue=False)  # tag 0 + multiple: everything outstanding
    c.close()
    eq(ready(ch, q), 1, "after nack(0, multiple, requeue=false) dropped the rest")


def case_reject(ctx):
    """basic.reject requeue=true redelivers; requeue=false discards."""
    conn, ch, q = setup(ctx, 2)
    c = conn.channel()
    m, body = get(c, q)
    eq(body, "m0", "first get")
    c.basic_reject(m.delivery_tag, requeue=True)
    m, body = get(c, q)
    eq((body, m.redelivered), ("m0", True), "rejected and requeued message")
    c.basic_reject(m.delivery_tag, requeue=False)
    m, body = get(c, q)
    eq((body, m.redelivered), ("m1", False), "next message after the discard")
    c.basic_ack(m.delivery_tag)
    eq(ready(ch, q), 0, "queue is empty")


def case_unknown_delivery_tag(ctx):
    """Acking a delivery tag the channel never issued: 406 PRECONDITION_FAILED, channel only."""
    conn, ch, q = setup(ctx, 1)
    c = conn.channel()
    m, _ = get(c, q)
    c.basic_ack(m.delivery_tag)
    c.basic_ack(m.delivery_tag)  # twice: unknown now
    e = expect_channel_close(lambda: c.queue_declare(q, passive=True), 406, "double ack")
    check("unknown delivery tag" in e.reply_text, f"reply text {e.reply_text!r}")
    check(conn.is_open, "connection closed by a channel error")


def case_requeue_on_channel_close(ctx):
    """Unacked deliveries return to the queue, redelivered, when their channel closes."""
    conn, ch, q = setup(ctx, 2)
    c = conn.channel()
    got = collect(conn, c, q, 2)
    eq(len(got), 2, "deliveries before the close")
    c.close()
    wait_for(lambda: ready(ch, q) == 2, what="requeue after channel close")
    m, body = get(ch, q, auto_ack=True)
    eq((body, m.redelivered), ("m0", True), "requeued message keeps its place and is redelivered")


def case_requeue_on_connection_close(ctx):
    """Unacked deliveries return to the queue when their connection closes."""
    conn, ch, q = setup(ctx, 2)
    other = ctx.connect()
    c = other.channel()
    get(c, q)
    get(c, q)
    eq(ready(ch, q), 0, "ready while the other connection holds both")
    other.close()
    wait_for(lambda: ready(ch, q) == 2, what="requeue after connection close")
    m, body = get(ch, q, auto_ack=True)
    eq((body, m.redelivered), ("m0", True), "requeued message")


def case_redelivered_flag(ctx):
    """redelivered is false on first delivery and true on every delivery after a requeue."""
    conn, ch, q = setup(ctx, 1)
    c = conn.channel()
    m, _ = get(c, q)
    eq(m.redelivered, False, "first delivery")
    c.basic_nack(m.delivery_tag, requeue=True)
    m, _ = get(c, q)
    eq(m.redelivered, True, "second delivery")
    c.basic_nack(m.delivery_tag, requeue=True)
    got = collect(conn, c, q, 1)
    eq([(m.redelivered, b) for m, b in got], [(True, "m0")], "delivery to a consumer after requeue")


def case_recover(ctx):
    """basic.recover(requeue=true) redelivers the channel's unacked messages."""
    conn, ch, q = setup(ctx, 2)
    c = conn.channel()
    got = collect(conn, c, q, 2)
    eq([(m.redelivered, b) for m, b in got], [(False, "m0"), (False, "m1")], "first deliveries")
    c.basic_recover(requeue=True)
    settle(conn, got, 4, "redeliveries after recover")
    eq(sorted((m.redelivered, b) for m, b in got[2:]), [(True, "m0"), (True, "m1")], "deliveries after recover")


def case_exclusive_consumer(ctx):
    """An exclusive consumer keeps others off the queue (403), and needs a queue without consumers."""
    conn, ch, q = setup(ctx)
    a = conn.channel()
    a.basic_consume(q, lambda *x: None, exclusive=True)
    e = expect_channel_close(lambda: conn.channel().basic_consume(q, lambda *x: None), 403, "consume beside an exclusive consumer")
    check(q in e.reply_text, f"reply text {e.reply_text!r}")
    q2 = ctx.queue()
    ch.queue_declare(q2)
    ch.basic_consume(q2, lambda *x: None)
    expect_channel_close(lambda: conn.channel().basic_consume(q2, lambda *x: None, exclusive=True), 403, "exclusive consume beside a consumer")
    check(conn.is_open, "connection closed by a channel error")


def case_cancel_notify(ctx):
    """Deleting a queue sends basic.cancel to its consumers (consumer_cancel_notify)."""
    conn, ch, q = setup(ctx)
    c = conn.channel()
    cancelled = []
    c.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    tag = c.basic_consume(q, lambda *x: None)
    check(tag.startswith("ctag"), f"consumer tag {tag!r}")
    ctx.connect().channel().queue_delete(q)
    wait_for(lambda: cancelled, conn=conn, what="basic.cancel from the server")
    eq(cancelled, [tag], "cancelled consumer tags")
    check(c.is_open, "channel closed by the cancel")


def case_confirms(ctx):
    """confirm_delivery: a routed publish is acked; an unroutable mandatory one is returned (312)."""
    conn, ch, q = setup(ctx)
    ch.confirm_delivery()
    ch.basic_publish("", q, b"confirmed")  # raises if nacked
    try:
        ch.basic_publish("", q + ".none", b"unroutable", mandatory=True)
    except pika.exceptions.UnroutableError as e:
        eq(len(e.messages), 1, "returned messages")
        m = e.messages[0].method
        eq((m.reply_code, m.reply_text), (312, "NO_ROUTE"), "basic.return code and text")
    else:
        check(False, "mandatory publish to no queue was not returned")
    eq(ready(ch, q), 1, "confirmed message is in the queue")


def case_direct_reply_to(ctx):
    """Direct reply-to: an RPC client consumes amq.rabbitmq.reply-to (no-ack), its request's
    reply_to is rewritten to amq.rabbitmq.reply-to.<token>, and a server's reply published to
    that key reaches the client without any queue; the pseudo-queue declares passively; an
    acking reply consumer is refused with 406."""
    conn, ch, q = setup(ctx)
    replies = []
    ch.basic_consume("amq.rabbitmq.reply-to", lambda c, m, p, b: replies.append(b), auto_ack=True)
    ch.basic_publish("", q, b"request", pika.BasicProperties(reply_to="amq.rabbitmq.reply-to"))
    server = ctx.connect().channel()
    method, props, body = None, None, None
    wait_for(lambda: server.queue_declare(q, passive=True).method.message_count == 1, what="request queued")
    method, props, body = server.basic_get(q, auto_ack=True)
    eq(body, b"request", "request body")
    check(props.reply_to.startswith("amq.rabbitmq.reply-to."), f"reply_to rewritten: {props.reply_to!r}")
    check(len(props.reply_to) > len("amq.rabbitmq.reply-to."), "reply_to carries a token")
    server.basic_publish("", props.reply_to, b"reply")
    wait_for(lambda: replies, conn=conn, what="direct reply")
    eq(replies, [b"reply"], "the reply")
    eq(ch.queue_declare("amq.rabbitmq.reply-to", passive=True).method.queue, "amq.rabbitmq.reply-to", "passive declare")
    other = ctx.connect().channel()
    expect_channel_close(
        lambda: other.basic_consume("amq.rabbitmq.reply-to", lambda *a: None, auto_ack=False),
        406,
        "acking reply consumer",
    )


def case_mandatory_return(ctx):
    """A mandatory publish that routes nowhere comes back as basic.return 312 NO_ROUTE."""
    conn, ch, q = setup(ctx)
    returned = []
    ch.add_on_return_callback(lambda c, m, p, b: returned.append((m.reply_code, m.reply_text, m.exchange, m.routing_key, b)))
    ch.basic_publish("amq.direct", "no.such.binding", b"back to me", mandatory=True)
    ch.basic_publish("", q, b"routed", mandatory=True)
    wait_for(lambda: returned, conn=conn, what="basic.return")
    conn.process_data_events(time_limit=0.2)
    eq(returned, [(312, "NO_ROUTE", "amq.direct", "no.such.binding", b"back to me")], "basic.return")
    eq(ready(ch, q), 1, "the routed mandatory message")


def case_properties_roundtrip(ctx):
    """Message properties and headers arrive as published."""
    conn, ch, q = setup(ctx)
    props = pika.BasicProperties(content_type="application/json", content_encoding="utf-8",
                                 headers={"device": "car", "n": 7, "nested": {"ok": True}},
                                 delivery_mode=2, priority=3, correlation_id="c-1", reply_to="r",
                                 expiration="60000", message_id="m-1", timestamp=1700000000,
                                 type="status", user_id="guest", app_id="itest")
    ch.basic_publish("", q, b'{"on": true}', props)
    wait_for(lambda: ready(ch, q) == 1, what="the message")
    m, p, body = ch.basic_get(q, auto_ack=True)
    eq(body, b'{"on": true}', "body")
    for k in ("content_type", "content_encoding", "headers", "delivery_mode", "priority", "correlation_id",
              "reply_to", "expiration", "message_id", "timestamp", "type", "user_id", "app_id"):
        eq(getattr(p, k), getattr(props, k), f"property {k}")


def case_large_message(ctx):
    """A body larger than frame_max is split into body frames and reassembled (1 MiB)."""
    conn, ch, q = setup(ctx)
    body = bytes(range(256)) * 4096
    ch.basic_publish("", q, body)
    wait_for(lambda: ready(ch, q) == 1, what="the message")
    m, p, got = ch.basic_get(q, auto_ack=True)
    eq(len(got), len(body), "body length")
    check(got == body, "body bytes differ")


def case_recover_no_requeue(ctx):
    """basic.recover(requeue=false) is refused: connection.close 540 NOT_IMPLEMENTED."""
    conn, ch, q = setup(ctx, 1)
    c = conn.channel()
    collect(conn, c, q, 1)
    e = expect_connection_close(lambda: (c.basic_recover(requeue=False), conn.process_data_events(time_limit=0.5)),
                                540, "basic.recover requeue=false")
    check("requeue=false" in e.reply_text, f"reply text {e.reply_text!r}")


def case_max_message_size(ctx):
    """A body over the configured max_message_size (arg 1) closes the channel with 406; one of
    exactly that size is accepted."""
    limit = int(ctx.args[0])
    conn, ch, q = setup(ctx)
    ch.basic_publish("", q, b"x" * limit)
    wait_for(lambda: ready(ch, q) == 1, what="the message of the maximum size")
    ch.basic_publish("", q, b"x" * (limit + 1))
    e = expect_channel_close(lambda: ch.queue_declare(q, passive=True), 406, "publish over max_message_size")
    check(str(limit) in e.reply_text, f"reply text {e.reply_text!r} does not name the limit")
    check(conn.is_open, "connection closed by a channel error")


if __name__ == "__main__":
    run(globals())
