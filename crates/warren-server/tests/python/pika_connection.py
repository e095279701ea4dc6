"""Connections and channels through pika: logins, threads, heartbeats, channel-only errors,
the Car2Home topology, permissions and shutdown."""

import sys
import threading

import pika
import pika.exceptions

from warren_testlib import check, check_reply, eq, expect_channel_close, run, uniq, wait_for


def still_works(conn, ch, what):
    """The connection and a surviving channel still work after another channel's error."""
    check(conn.is_open, f"{what}: the connection was closed by a channel error")
    check(ch.is_open, f"{what}: an unrelated channel was closed")
    q = ch.queue_declare("", exclusive=True).method.queue
    ch.basic_publish("", q, b"still here")
    wait_for(lambda: ch.queue_declare(q, passive=True).method.message_count == 1, what=f"{what}: publish after error")
    fresh = conn.channel()
    eq(fresh.basic_get(q, auto_ack=True)[2], b"still here", f"{what}: get on a new channel")


def case_channel_error_403(ctx):
    conn = ctx.connect()
    bystander = conn.channel()
    bad = conn.channel()
    expect_channel_close(lambda: bad.exchange_declare("amq." + uniq("x"), exchange_type="fanout"), 403, "403 on one channel")
    check(bad.is_closed, "the failing channel is closed")
    still_works(conn, bystander, "after 403")


def case_channel_error_404(ctx):
    conn = ctx.connect()
    bystander = conn.channel()
    bad = conn.channel()
    expect_channel_close(lambda: bad.queue_declare(uniq("missing"), passive=True), 404, "404 on one channel")
    still_works(conn, bystander, "after 404")


def case_channel_error_405(ctx):
    owner = ctx.connect()
    q = uniq("locked")
    owner.channel().queue_declare(q, exclusive=True)
    conn = ctx.connect()
    bystander = conn.channel()
    expect_channel_close(lambda: conn.channel().queue_declare(q, passive=True), 405, "405 on one channel")
    still_works(conn, bystander, "after 405")


def case_channel_error_406(ctx):
    conn = ctx.connect()
    bystander = conn.channel()
    x = ctx.exchange()
    bystander.exchange_declare(x, exchange_type="direct")
    expect_channel_close(lambda: conn.channel().exchange_declare(x, exchange_type="topic"), 406, "406 on one channel")
    still_works(conn, bystander, "after 406")


def case_pika_login_failure(ctx):
    """pika sees a wrong password as an authentication failure, not as a dropped socket."""
    try:
        ctx.connect(user="guest", password="not-the-password")
    except pika.exceptions.ProbableAuthenticationError as e:
        print(f"pika: ProbableAuthenticationError {e}")
        check("ACCESS_REFUSED" in str(e), f"pika error {e!r} does not carry ACCESS_REFUSED")
        return
    except pika.exceptions.AMQPConnectionError as e:
        check(False, f"expected an authentication error, got {type(e).__name__}: {e!r}")
    check(False, "login with a wrong password succeeded")


def case_logins(ctx):
    """guest/guest from loopback and rabbit/MQ321 (the seed's user) both log in."""
    for user, password in (("guest", "guest"), ("rabbit", "MQ321")):
        conn = ctx.connect(user=user, password=password)
        conn.channel().queue_declare("", exclusive=True)
        conn.close()


def case_heartbeat_negotiated(ctx):
    """Without a client preference pika takes the server's heartbeat (arg 1); with one, its own."""
    want = int(ctx.args[0]) if ctx.args else 60
    conn = ctx.connect()
    eq(conn._impl.params.heartbeat, want, "heartbeat negotiated with no client preference")
    conn.close()
    conn = ctx.connect(heartbeat=7)
    eq(conn._impl.params.heartbeat, 7, "heartbeat negotiated with the client asking for 7")
    conn.close()


def case_two_threads(ctx):
    """pika from two threads, one connection per thread: publish and consume 200 messages each."""
    errors = []
    n = 200

    def worker(i):
        try:
            conn = pika.BlockingConnection(ctx.params())
            ch = conn.channel()
            q = ch.queue_declare("", exclusive=True).method.queue
            ch.confirm_delivery()
            for k in range(n):
                ch.basic_publish("", q, f"t{i}-{k}".encode())
            got = []
            for method, _, body in ch.consume(q, inactivity_timeout=5):
                if method is None:
                    break
                got.append(body.decode())
                ch.basic_ack(method.delivery_tag)
                if len(got) == n:
                    break
            ch.cancel()
            if got != [f"t{i}-{k}" for k in range(n)]:
                errors.append(f"thread {i}: got {len(got)} messages, first {got[:3]}")
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"thread {i}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    check(not any(t.is_alive() for t in threads), "a thread did not finish in 30 s")
    check(not errors, "; ".join(errors))


def case_connection_close(ctx):
    """A client connection.close is answered with close-ok; the connection ends cleanly."""
    conn = ctx.connect()
    conn.channel().queue_declare("", exclusive=True)
    conn.close()
    check(conn.is_closed, "connection not closed")


def case_car2home_topology(ctx):
    """The default Car2Home topology: webos.topic, webos.fanout and one queue per device bound
    with `webos.<device>.*` and to the fanout. Arg `if-present` prints SKIP when it is absent."""
    conn = ctx.connect()
    try:
        conn.channel().exchange_declare("webos.topic", passive=True)
    except pika.exceptions.ChannelClosedByBroker as e:
        if ctx.args[:1] == ["if-present"] and e.reply_code == 404:
            print("SKIP car2home_topology: webos.topic is not declared on this broker")
            return
        raise
    ch = conn.channel()
    # Same properties as the seed: transient, not auto-delete, not internal (406 otherwise).
    ch.exchange_declare("webos.topic", exchange_type="topic", durable=False, auto_delete=False, internal=False)
    ch.exchange_declare("webos.fanout", exchange_type="fanout", durable=False, auto_delete=False, internal=False)
    devices = ("server", "smarthome", "car", "android", "camera")
    for d in devices:
        ch.queue_declare(d, passive=True)
        ch.queue_purge(d)
    tag = uniq("c2h")
    for d in devices:
        ch.basic_publish("webos.topic", f"webos.{d}.status", f"{tag}:{d}".encode())
    ch.basic_publish("webos.fanout", "", f"{tag}:all".encode())
    ch.basic_publish("webos.topic", "webos.car.door.open", f"{tag}:deep".encode())  # `*` is one word
    for d in devices:
        wait_for(lambda d=d: ch.queue_declare(d, passive=True).method.message_count >= 2, what=f"messages in {d}")
        got = []
        while True:
            m, _, body = ch.basic_get(d, auto_ack=True)
            if m is None:
                break
            if body.decode().startswith(tag):
                got.append(body.decode())
        eq(sorted(got), sorted([f"{tag}:{d}", f"{tag}:all"]), f"queue {d}")


def case_permissions(ctx):
    """A user limited to configure `^perm-c\\.`, write `^perm-w\\.`, read `^perm-r\\.` on /.
    Args: USER PASSWORD WHAT where WHAT is configure, write or read. The admin side uses guest."""
    user, password, what = ctx.args[:3]
    admin = ctx.connect().channel()
    conn = ctx.connect(user=user, password=password)
    if what == "configure":
        ok = "perm-c." + uniq("q")
        ctx._cleanup_queues.append(ok)
        conn.channel().queue_declare(ok)
        e = expect_channel_close(lambda: conn.channel().queue_declare(ctx.queue("other")), 403, "declare outside configure")
        check(user in e.reply_text, f"reply text {e.reply_text!r} does not name the user")
        expect_channel_close(lambda: conn.channel().exchange_declare(ctx.exchange("other"), exchange_type="direct"), 403, "exchange declare outside configure")
        theirs = ctx.queue("other")
        admin.queue_declare(theirs)
        expect_channel_close(lambda: conn.channel().queue_delete(theirs), 403, "delete outside configure")
        admin.queue_declare(theirs, passive=True)  # still there
    elif what == "write":
        x = "perm-w." + uniq("x")
        ctx._cleanup_exchanges.append(x)
        admin.exchange_declare(x, exchange_type="fanout")
        q = admin.queue_declare("", exclusive=True).method.queue
        admin.queue_bind(q, x)
        ch = conn.channel()
        ch.basic_publish(x, "", b"allowed")
        wait_for(lambda: admin.queue_declare(q, passive=True).method.message_count == 1, what="the allowed publish")
        ch.basic_publish("amq.fanout", "", b"refused")  # write on amq.fanout: not granted
        e = expect_channel_close(lambda: ch.queue_declare(uniq("perm-c.probe"), passive=True), 403, "publish outside write")
        check("amq.fanout" in e.reply_text, f"reply text {e.reply_text!r}")
        ch = conn.channel()
        ch.basic_publish("", q, b"refused")  # the default exchange is amq.default for permissions
        expect_channel_close(lambda: ch.queue_declare(uniq("perm-c.probe"), passive=True), 403, "publish to the default exchange")
    elif what == "read":
        ok = "perm-r." + uniq("q")
        ctx._cleanup_queues.append(ok)
        bad = ctx.queue("other")
        for q in (ok, bad):
            admin.queue_declare(q)
            admin.basic_publish("", q, b"m")
        wait_for(lambda: admin.queue_declare(bad, passive=True).method.message_count == 1, what="message")
        ch = conn.channel()
        eq(ch.basic_get(ok, auto_ack=True)[2], b"m", "get from a readable queue")
        expect_channel_close(lambda: conn.channel().basic_get(bad, auto_ack=True), 403, "get outside read")
        expect_channel_close(lambda: conn.channel().basic_consume(bad, lambda *a: None), 403, "consume outside read")
    else:
        check(False, f"unknown permission kind {what!r}")


def case_definitions_topology(ctx):
    """A topic exchange X and queue Q bound with `webos.car.*` came from a definitions file.
    Args: X Q. Routes one message through them, then deletes both."""
    x, q = ctx.args[:2]
    ctx._cleanup_queues.append(q)
    ctx._cleanup_exchanges.append(x)
    ch = ctx.channel()
    ch.exchange_declare(x, exchange_type="topic", durable=False, auto_delete=False, internal=False)
    ch.queue_declare(q, passive=True)
    ch.basic_publish(x, "webos.car.status", b"from definitions")
    ch.basic_publish(x, "webos.camera.status", b"not bound")
    wait_for(lambda: ch.queue_declare(q, passive=True).method.message_count == 1, what="the routed message")
    eq(ch.basic_get(q, auto_ack=True)[2], b"from definitions", "message routed by the imported binding")


def case_wait_for_forced_close(ctx):
    """Connect, print READY-CLIENT, then wait up to 20 s for the server to close the connection;
    it must be 320 CONNECTION_FORCED (the harness sends SIGTERM to the broker meanwhile)."""
    conn = ctx.connect()
    conn.channel().queue_declare("", exclusive=True)
    print("READY-CLIENT")
    sys.stdout.flush()
    try:
        for _ in range(200):
            conn.process_data_events(time_limit=0.1)
    except pika.exceptions.ConnectionClosedByBroker as e:
        check_reply(e.reply_code, e.reply_text, 320, "connection closed on shutdown")
        return
    check(False, "connection still open 20 s after READY-CLIENT")


if __name__ == "__main__":
    run(globals())
