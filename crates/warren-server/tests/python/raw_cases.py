"""Cases driven with raw frames: what pika, aio-pika and lapin cannot send or do not expose."""

import struct
import time

import amqp_raw as raw
from warren_testlib import CaseFailed, check, check_reply, eq, run, uniq


def connect(ctx, **kw):
    c = raw.RawConnection(ctx.host, ctx.port)
    c.handshake(**kw)
    return c


def expect_close(c, code, what, class_method=None):
    got_code, text, cls, meth = c.read_until_close()
    check_reply(got_code, text, code, what)
    if class_method is not None:
        eq((cls, meth), class_method, f"{what}: class/method id in connection.close")
    return text


def case_bad_protocol_header(ctx):
    """A wrong protocol header: the server answers with its own header and closes the socket."""
    for header in (b"AMQP\x00\x00\x08\x00", b"GET / HTTP/1.1\r\n\r\n"):
        c = raw.RawConnection(ctx.host, ctx.port)
        c.send(header)
        got = c.recv_exact(8)
        eq(got, raw.PROTOCOL_HEADER, f"reply to header {header!r}")
        try:
            extra = c.recv_exact(1, timeout=3)
            raise CaseFailed(f"server sent {extra!r} after its header instead of closing")
        except raw.Closed:
            pass
        c.close()


def case_connection_start(ctx):
    """connection.start: version 0-9, PLAIN and AMQPLAIN, en_US, the capabilities RabbitMQ sends."""
    c = raw.RawConnection(ctx.host, ctx.port)
    c.send(raw.PROTOCOL_HEADER)
    _, r = c.expect_method(10, 10)
    eq((r.octet(), r.octet()), (0, 9), "version-major/minor")
    props = r.table()
    mechanisms = r.longstr().decode().split()
    locales = r.longstr().decode().split()
    check("PLAIN" in mechanisms and "AMQPLAIN" in mechanisms, f"mechanisms {mechanisms}")
    check("en_US" in locales, f"locales {locales}")
    for key in ("product", "version", "platform"):
        check(isinstance(props.get(key), str), f"server property {key!r} missing: {props}")
    caps = props.get("capabilities")
    check(isinstance(caps, dict), f"no capabilities table in server properties: {props}")
    for cap in ("publisher_confirms", "exchange_exchange_bindings", "basic.nack",
                "consumer_cancel_notify", "connection.blocked", "consumer_priorities",
                "authentication_failure_close", "per_consumer_qos", "direct_reply_to"):
        eq(caps.get(cap), True, f"capability {cap}")
    c.close()


def case_tune_defaults(ctx):
    """connection.tune offers RabbitMQ's defaults: channel_max 2047, frame_max 131072, heartbeat 60."""
    c = raw.RawConnection(ctx.host, ctx.port)
    c.handshake()
    eq(c.tune, (2047, 131072, 60), "connection.tune (channel_max, frame_max, heartbeat)")
    c.close()


def case_tune_configured(ctx):
    """connection.tune offers the configured values: args are channel_max frame_max heartbeat."""
    want = tuple(int(a) for a in ctx.args[:3])
    c = raw.RawConnection(ctx.host, ctx.port)
    c.handshake()
    eq(c.tune, want, "connection.tune (channel_max, frame_max, heartbeat)")
    c.close()


def case_amqplain_login(ctx):
    """AMQPLAIN login works like PLAIN."""
    c = connect(ctx, mechanism="AMQPLAIN")
    c.open_channel(1)
    c.close()


def case_login_failure(ctx):
    """A wrong password: connection.close 403 ACCESS_REFUSED (authentication_failure_close)."""
    for mech in ("PLAIN", "AMQPLAIN"):
        c = raw.RawConnection(ctx.host, ctx.port)
        c.send(raw.PROTOCOL_HEADER)
        c.expect_method(10, 10)
        if mech == "PLAIN":
            response = b"\x00guest\x00wrong-password"
        else:
            response = raw.table({"LOGIN": "guest", "PASSWORD": "wrong-password"})[4:]
        props = raw.table({"capabilities": {"authentication_failure_close": True}})
        c.send(raw.method(0, 10, 11, props + raw.shortstr(mech) + raw.longstr(response) + raw.shortstr("en_US")))
        expect_close(c, 403, f"{mech} login with a wrong password")
        c.close()


def case_unknown_vhost(ctx):
    """connection.open to a vhost that does not exist: 530 NOT_ALLOWED."""
    c = raw.RawConnection(ctx.host, ctx.port)
    c.handshake(open_vhost=False)
    c.send(raw.method(0, 10, 40, raw.shortstr(uniq("no-such-vhost")) + raw.shortstr("") + b"\x00"))
    expect_close(c, 530, "connection.open to an unknown vhost", (10, 40))
    c.close()


def case_frame_too_large(ctx):
    """A frame larger than the negotiated frame_max: 501 FRAME_ERROR."""
    c = connect(ctx, frame_max=4096)
    c.open_channel(1)
    c.send(raw.basic_publish(1, "", uniq("nowhere")))
    c.send(raw.content_header(1, 10000))
    c.send(raw.content_body(1, b"x" * 10000))
    expect_close(c, 501, "body frame over frame_max", (0, 0))
    c.close()


def case_frame_over_server_max(ctx):
    """A frame larger than the frame_max the server offered (and the client accepted): 501."""
    c = connect(ctx)
    size = c.tune[1] + 1000
    c.open_channel(1)
    c.send(raw.basic_publish(1, "", uniq("nowhere")))
    c.send(raw.content_header(1, size))
    c.send(raw.content_body(1, b"x" * size))
    expect_close(c, 501, f"body frame of {size} bytes over frame_max {c.tune[1]}", (0, 0))
    c.close()


def case_bad_frame_end(ctx):
    """A frame whose end octet is not 0xCE: 501 FRAME_ERROR."""
    c = connect(ctx)
    bad = raw.method(1, 20, 10, raw.shortstr(""))[:-1] + b"\x00"
    c.send(bad)
    expect_close(c, 501, "frame-end octet 0x00", (0, 0))
    c.close()


def case_header_without_publish(ctx):
    """A content header with no basic.publish before it: 505 UNEXPECTED_FRAME."""
    c = connect(ctx)
    c.open_channel(1)
    c.send(raw.content_header(1, 5))
    expect_close(c, 505, "content header without publish", (0, 0))
    c.close()


def case_body_without_header(ctx):
    """A method frame where the content header should be: 505 UNEXPECTED_FRAME."""
    c = connect(ctx)
    c.open_channel(1)
    c.send(raw.basic_publish(1, "", uniq("nowhere")))
    c.send(raw.queue_declare(1, uniq("q"), exclusive=True))
    expect_close(c, 505, "method instead of content header", (60, 40))
    c.close()


def case_unopened_channel(ctx):
    """A method on a channel that was never opened: 504 CHANNEL_ERROR."""
    c = connect(ctx)
    c.send(raw.queue_declare(5, uniq("q"), exclusive=True))
    expect_close(c, 504, "queue.declare on unopened channel 5", (50, 10))
    c.close()


def case_channel_reopen(ctx):
    """channel.open on a channel that is already open: 504 CHANNEL_ERROR."""
    c = connect(ctx)
    c.open_channel(1)
    c.send(raw.method(1, 20, 10, raw.shortstr("")))
    expect_close(c, 504, "second channel.open on channel 1", (20, 10))
    c.close()


def case_immediate(ctx):
    """basic.publish with immediate=true: 540 NOT_IMPLEMENTED (RabbitMQ dropped immediate)."""
    c = connect(ctx)
    c.open_channel(1)
    q = uniq("imm")
    c.send(raw.queue_declare(1, q, exclusive=True))
    c.expect_method(50, 11)
    c.send(raw.basic_publish(1, "", q, immediate=True))
    c.send(raw.content_header(1, 2))
    c.send(raw.content_body(1, b"hi"))
    expect_close(c, 540, "publish with immediate=true", (60, 40))
    c.close()


def case_channel_flow(ctx):
    """channel.flow active=true gets flow-ok; active=false is refused with 540 NOT_IMPLEMENTED."""
    c = connect(ctx)
    c.open_channel(1)
    c.send(raw.method(1, 20, 20, b"\x01"))
    _, r = c.expect_method(20, 21)
    eq(r.octet() & 1, 1, "channel.flow-ok active")
    c.send(raw.method(1, 20, 20, b"\x00"))
    ch, cls, meth, r = c.read_method()
    if (cls, meth) == (20, 21):
        raise CaseFailed(f"channel.flow active=false was answered with channel.flow-ok active={r.octet() & 1} "
                         "instead of RabbitMQ's connection.close 540 NOT_IMPLEMENTED")
    eq((cls, meth), (10, 50), "reply to channel.flow active=false")
    code, text, ccls, cmeth = r.short(), r.shortstr(), r.short(), r.short()
    check_reply(code, text, 540, "channel.flow active=false")
    eq((ccls, cmeth), (20, 20), "class/method id in connection.close")
    c.close()


def case_heartbeat_sent(ctx):
    """With heartbeat=1 negotiated, the server sends heartbeat frames on channel 0."""
    c = connect(ctx, heartbeat=1)
    deadline = time.monotonic() + 4
    seen = 0
    while time.monotonic() < deadline and seen < 2:
        c.send(raw.frame(raw.FRAME_HEARTBEAT, 0, b""))
        ftype, channel, payload = c.read_frame(timeout=3)
        if ftype == raw.FRAME_HEARTBEAT:
            eq((channel, payload), (0, b""), "heartbeat frame channel/payload")
            seen += 1
    check(seen >= 2, f"saw {seen} heartbeats in 4 s with heartbeat=1")
    c.close()


def case_heartbeat_missed(ctx):
    """With heartbeat=1 negotiated and the client silent, the server drops the connection."""
    c = connect(ctx, heartbeat=1)
    start = time.monotonic()
    try:
        while time.monotonic() - start < 8:
            c.read_frame(timeout=8)
        raise CaseFailed("connection still open 8 s after the client stopped sending heartbeats")
    except (raw.Closed, ConnectionResetError):
        pass
    took = time.monotonic() - start
    check(took >= 1.0, f"closed after only {took:.1f} s")
    c.close()


def case_confirms_multiple(ctx):
    """Publisher confirms: N publishes in one write are all acked, tags 1..N exactly once, in
    order, whether the broker acks one by one or with multiple=true."""
    n = 50
    c = connect(ctx)
    c.open_channel(1)
    q = uniq("confirm")
    c.send(raw.queue_declare(1, q, exclusive=True))
    c.expect_method(50, 11)
    c.send(raw.method(1, 85, 10, b"\x00"))  # confirm.select nowait=false
    c.expect_method(85, 11)
    batch = b""
    for i in range(n):
        body = str(i).encode()
        batch += raw.basic_publish(1, "", q) + raw.content_header(1, len(body)) + raw.content_body(1, body)
    c.send(batch)
    confirmed = 0
    acks = []
    while confirmed < n:
        _, r = c.expect_method(60, 80)
        tag, multiple = r.longlong(), bool(r.octet() & 1)
        acks.append((tag, multiple))
        check(tag > confirmed, f"ack tag {tag} after {confirmed} were already confirmed: {acks}")
        check(multiple or tag == confirmed + 1, f"single ack {tag} skipped tags after {confirmed}: {acks}")
        confirmed = tag
    eq(confirmed, n, "last confirmed tag")
    print(f"{n} publishes confirmed by {len(acks)} basic.ack frames "
          f"({sum(1 for _, m in acks if m)} with multiple=true)")
    c.close()


def case_server_consumer_tag(ctx):
    """basic.consume with an empty tag: the server generates one starting `amq.ctag-`."""
    c = connect(ctx)
    c.open_channel(1)
    q = uniq("ctag")
    c.send(raw.queue_declare(1, q, exclusive=True))
    c.expect_method(50, 11)
    c.send(raw.method(1, 60, 20, struct.pack(">H", 0) + raw.shortstr(q) + raw.shortstr("") + b"\x00" + raw.table({})))
    _, r = c.expect_method(60, 21)
    tag = r.shortstr()
    check(tag.startswith("amq.ctag-"), f"server-generated consumer tag {tag!r}")
    c.close()


if __name__ == "__main__":
    run(globals())
