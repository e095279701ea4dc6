"""Message TTL, dead-lettering and queue expiry through pika, as RabbitMQ 3.10 does them:
x-message-ttl, the expiration property, x-dead-letter-exchange / -routing-key (x-death and
x-first-death-* headers, cycles), x-max-length drop-head dead-lettering, x-expires, and the
406s for bad arguments. Every case passes against RabbitMQ 3.10 (WARREN_TEST_BROKER)."""

import datetime
import time

import pika

from warren_testlib import check, eq, expect_channel_close, run


def ready(ch, queue):
    return ch.queue_declare(queue, passive=True).method.message_count


def wait_ready(ch, queue, want, what, timeout=5.0):
    """Passive declare until the ready count is `want`."""
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = ready(ch, queue)
        if got == want:
            return
        ch.connection.sleep(0.05)
    eq(got, want, what)


def expiring(ms):
    return pika.BasicProperties(expiration=str(ms))


def get(ch, queue):
    """basic.get with auto-ack: (properties, body) or None."""
    method, props, body = ch.basic_get(queue, auto_ack=True)
    return None if method is None else (props, body)


def wait_get(ch, queue, what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = get(ch, queue)
        if got is not None:
            return got
        ch.connection.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def dead_letter_queue(ctx, ch):
    """A fanout dead-letter exchange and the queue behind it: (exchange, queue)."""
    dlx = ctx.exchange("dlx")
    dead = ctx.queue("dead")
    ch.exchange_declare(dlx, "fanout")
    ch.queue_declare(dead)
    ch.queue_bind(dead, dlx)
    return dlx, dead


def check_death(entry, queue, reason, exchange, routing_keys, count, what):
    eq(entry.get("queue"), queue, f"{what}: x-death queue")
    eq(entry.get("reason"), reason, f"{what}: x-death reason")
    eq(entry.get("exchange"), exchange, f"{what}: x-death exchange")
    eq(entry.get("routing-keys"), routing_keys, f"{what}: x-death routing-keys")
    eq(entry.get("count"), count, f"{what}: x-death count")
    check(isinstance(entry.get("time"), datetime.datetime), f"{what}: x-death time {entry.get('time')!r} is not a timestamp")


def case_queue_ttl(ctx):
    """x-message-ttl: messages leave the queue once their TTL has passed, without consumers."""
    ch = ctx.channel()
    q = ctx.queue("ttl")
    ch.queue_declare(q, arguments={"x-message-ttl": 300})
    for i in range(3):
        ch.basic_publish("", q, f"m{i}".encode())
    wait_ready(ch, q, 3, "ready right after publishing")
    ch.connection.sleep(0.4)
    wait_ready(ch, q, 0, "ready after the TTL, no consumer")
    eq(get(ch, q), None, "basic.get after the TTL")


def case_message_expiration(ctx):
    """The expiration property: an expired message is never got; the lower of it and
    x-message-ttl applies; an unexpired one keeps its expiration property."""
    ch = ctx.channel()
    plain = ctx.queue("plain")
    ch.queue_declare(plain)
    ch.basic_publish("", plain, b"short", properties=expiring(200))
    ch.basic_publish("", plain, b"kept", properties=expiring(60000))
    ch.connection.sleep(0.4)
    props, body = get(ch, plain)
    eq(body, b"kept", "the message left after 200 ms")
    eq(props.expiration, "60000", "expiration property of a delivered message")
    ttl = ctx.queue("ttl")
    ch.queue_declare(ttl, arguments={"x-message-ttl": 60000})
    ch.basic_publish("", ttl, b"message ttl wins", properties=expiring(100))
    wait_ready(ch, ttl, 0, "message TTL 100 ms under queue TTL 60 s")
    short = ctx.queue("short")
    ch.queue_declare(short, arguments={"x-message-ttl": 100})
    ch.basic_publish("", short, b"queue ttl wins", properties=expiring(60000))
    wait_ready(ch, short, 0, "queue TTL 100 ms under message TTL 60 s")


def case_ttl_zero(ctx):
    """x-message-ttl 0: delivered to a waiting consumer, dropped when there is none."""
    ch = ctx.channel()
    q = ctx.queue("zero")
    ch.queue_declare(q, arguments={"x-message-ttl": 0})
    ch.basic_publish("", q, b"nobody listens")
    ch.connection.sleep(0.2)
    eq(ready(ch, q), 0, "ready with TTL 0 and no consumer")
    got = []
    ch.basic_consume(q, lambda c, m, p, b: got.append(b), auto_ack=True)
    ch.basic_publish("", q, b"taken")
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        ch.connection.process_data_events(time_limit=0.05)
    eq(got, [b"taken"], "delivered to the waiting consumer")


def case_dlx_rejected(ctx):
    """basic.reject requeue=false dead-letters: x-death, x-first-death-*, expiration removed
    (kept as original-expiration), other headers kept, routing key kept."""
    ch = ctx.channel()
    dlx, dead = dead_letter_queue(ctx, ch)
    q = ctx.queue("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    props = pika.BasicProperties(expiration="60000", headers={"app": "kept"})
    ch.basic_publish("", q, b"job", properties=props)
    method, _, _ = None, None, None
    deadline = time.monotonic() + 5
    while method is None and time.monotonic() < deadline:
        method, _, _ = ch.basic_get(q)
    check(method is not None, "the message to reject")
    ch.basic_reject(method.delivery_tag, requeue=False)
    props, body = wait_get(ch, dead, "the dead letter")
    eq(body, b"job", "dead letter body")
    eq(props.expiration, None, "expiration of the dead letter")
    h = props.headers
    eq(h.get("app"), "kept", "application header")
    eq(h.get("x-first-death-reason"), "rejected", "x-first-death-reason")
    eq(h.get("x-first-death-queue"), q, "x-first-death-queue")
    eq(h.get("x-first-death-exchange"), "", "x-first-death-exchange")
    deaths = h.get("x-death")
    eq(len(deaths), 1, "x-death entries")
    check_death(deaths[0], q, "rejected", "", [q], 1, "rejected")
    eq(deaths[0].get("original-expiration"), "60000", "original-expiration")
    eq(ready(ch, q), 0, "the rejected message left its queue")


def case_dlx_nack_requeue(ctx):
    """nack with requeue=true does not dead-letter; nack multiple requeue=false dead-letters each."""
    ch = ctx.channel()
    dlx, dead = dead_letter_queue(ctx, ch)
    q = ctx.queue("work")
    ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
    for body in (b"1", b"2", b"3"):
        ch.basic_publish("", q, body)
    wait_ready(ch, q, 3, "published")
    tags = [ch.basic_get(q)[0].delivery_tag for _ in range(3)]
    ch.basic_nack(tags[0], requeue=True)
    ch.basic_nack(tags[2], multiple=True, requeue=False)
    wait_ready(ch, dead, 2, "dead letters of nack multiple")
    eq(ready(ch, q), 1, "the requeued message")
    eq([get(ch, dead)[1], get(ch, dead)[1]], [b"2", b"3"], "dead letters in order")


def case_dlx_expired_routing_key(ctx):
    """Expired messages are dead-lettered with x-dead-letter-routing-key, reason expired."""
    ch = ctx.channel()
    dlx = ctx.exchange("dlx")
    ch.exchange_declare(dlx, "direct")
    dead = ctx.queue("dead")
    ch.queue_declare(dead)
    ch.queue_bind(dead, dlx, "parked")
    q = ctx.queue("delay")
    ch.queue_declare(q, arguments={
        "x-message-ttl": 200,
        "x-dead-letter-exchange": dlx,
        "x-dead-letter-routing-key": "parked",
    })
    ch.basic_publish("", q, b"later")
    method, props, body = None, None, None
    deadline = time.monotonic() + 5
    while method is None and time.monotonic() < deadline:
        ch.connection.sleep(0.05)
        method, props, body = ch.basic_get(dead, auto_ack=True)
    check(method is not None, "the expired message in the dead-letter queue")
    eq((method.exchange, method.routing_key, body), (dlx, "parked", b"later"), "dead letter routing")
    deaths = props.headers["x-death"]
    check_death(deaths[0], q, "expired", "", [q], 1, "expired")
    check("original-expiration" not in deaths[0], "no original-expiration without an expiration property")
    eq(ready(ch, q), 0, "the expired message left its queue")


def case_dlx_maxlen(ctx):
    """x-max-length drop-head dead-letters the dropped messages with reason maxlen."""
    ch = ctx.channel()
    dlx, dead = dead_letter_queue(ctx, ch)
    q = ctx.queue("small")
    ch.queue_declare(q, arguments={"x-max-length": 2, "x-dead-letter-exchange": dlx})
    for body in (b"1", b"2", b"3", b"4"):
        ch.basic_publish("", q, body)
    wait_ready(ch, dead, 2, "dropped heads in the dead-letter queue")
    eq(ready(ch, q), 2, "the queue at its limit")
    props, body = get(ch, dead)
    eq(body, b"1", "the oldest was dropped first")
    check_death(props.headers["x-death"][0], q, "maxlen", "", [q], 1, "maxlen")


def case_dlx_cycle(ctx):
    """A message expiring back into its own queue (DLX = default exchange) is dropped."""
    ch = ctx.channel()
    q = ctx.queue("loop")
    ch.queue_declare(q, arguments={"x-message-ttl": 100, "x-dead-letter-exchange": ""})
    ch.basic_publish("", q, b"round and round")
    ch.connection.sleep(0.3)
    wait_ready(ch, q, 0, "the cycling message is dropped")
    ch.connection.sleep(0.3)
    eq(ready(ch, q), 0, "still gone")


def case_dlx_retry_loop(ctx):
    """Reject → retry queue with TTL → back to work: not a cycle (a rejection is in it), and the
    x-death counts grow with each round."""
    ch = ctx.channel()
    dlx = ctx.exchange("dlx")
    ch.exchange_declare(dlx, "fanout")
    work = ctx.queue("work")
    retry = ctx.queue("retry")
    ch.queue_declare(work, arguments={"x-dead-letter-exchange": dlx})
    ch.queue_declare(retry, arguments={
        "x-message-ttl": 100,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": work,
    })
    ch.queue_bind(retry, dlx)
    ch.basic_publish("", work, b"job")
    for round_ in (1, 2):
        method = None
        deadline = time.monotonic() + 5
        while method is None and time.monotonic() < deadline:
            method, props, body = ch.basic_get(work)
            if method is None:
                ch.connection.sleep(0.05)
        check(method is not None, f"round {round_}: the job back in work")
        if round_ == 1:
            check(props.headers is None or "x-death" not in props.headers, "first delivery has no x-death")
        else:
            deaths = props.headers["x-death"]
            eq([(d["queue"], d["reason"]) for d in deaths], [(retry, "expired"), (work, "rejected")], "x-death order")
            eq([d["count"] for d in deaths], [1, 1], "x-death counts after one round")
            eq(props.headers["x-first-death-queue"], work, "x-first-death-queue")
        ch.basic_reject(method.delivery_tag, requeue=False)
    method = None
    deadline = time.monotonic() + 5
    while method is None and time.monotonic() < deadline:
        method, props, body = ch.basic_get(work, auto_ack=True)
        if method is None:
            ch.connection.sleep(0.05)
    check(method is not None, "the job back in work after two rounds")
    eq([d["count"] for d in props.headers["x-death"]], [2, 2], "x-death counts after two rounds")


def case_dlx_missing_exchange(ctx):
    """A dead-letter exchange that does not exist: expired messages are simply dropped."""
    ch = ctx.channel()
    q = ctx.queue("q")
    ch.queue_declare(q, arguments={"x-message-ttl": 100, "x-dead-letter-exchange": ctx.exchange("nowhere")})
    ch.basic_publish("", q, b"m")
    ch.connection.sleep(0.2)
    wait_ready(ch, q, 0, "expired with a missing dead-letter exchange")


def case_queue_expires(ctx):
    """x-expires: an unused queue is deleted; a redeclare restarts the timer."""
    ch = ctx.channel()
    q = ctx.queue("idle")
    args = {"x-expires": 600}
    ch.queue_declare(q, arguments=args)
    ch.basic_publish("", q, b"m")
    ch.connection.sleep(0.4)
    ch.queue_declare(q, arguments=args)  # a use: the timer restarts
    ch.connection.sleep(0.4)
    eq(ready(ch, q), 1, "still there 0.8 s after creation (used at 0.4 s)")
    # A passive declare is a use too, so look only once, well after the expiry.
    ch.connection.sleep(1.2)
    expect_channel_close(lambda: ch.queue_declare(q, passive=True), 404, "passive declare of the expired queue")


def case_invalid_arguments(ctx):
    """Bad TTL / expiry / dead-letter arguments are 406 PRECONDITION_FAILED, naming the reason."""
    conn = ctx.connect()
    cases = [
        ({"x-message-ttl": -1}, "value_negative"),
        ({"x-expires": 0}, "value_zero"),
        ({"x-message-ttl": "100"}, "expected integer, got longstr"),
        ({"x-dead-letter-routing-key": "k"}, "routing_key_but_no_dlx_defined"),
    ]
    for args, reason in cases:
        ch = conn.channel()
        q = ctx.queue("bad")
        e = expect_channel_close(lambda: ch.queue_declare(q, arguments=args), 406, f"declare with {args}")
        check("x-" in e.reply_text and reason in e.reply_text, f"{args}: reply text {e.reply_text!r} lacks {reason!r}")


def case_invalid_expiration(ctx):
    """A non-numeric expiration property closes the channel with 406."""
    conn = ctx.connect()
    ch = conn.channel()
    q = ctx.queue("q")
    ch.queue_declare(q)
    ch.basic_publish("", q, b"m", properties=expiring("soon"))
    e = expect_channel_close(lambda: ch.queue_declare(q, passive=True), 406, "publish with expiration 'soon'")
    want = "PRECONDITION_FAILED - invalid expiration 'soon': no_integer"
    check(e.reply_text == want, f"reply text {e.reply_text!r}, want {want!r}")


if __name__ == "__main__":
    run(globals())
