"""Exchange behaviour through pika: types, routing, flags, predeclared and default exchanges."""

import pika
import pika.exceptions

from warren_testlib import check, eq, expect_channel_close, run, uniq


def bound_queue(ctx, ch, exchange, *bindings):
    """An exclusive server-named queue bound to `exchange` with each (key, arguments) binding."""
    q = ch.queue_declare("", exclusive=True).method.queue
    for key, args in bindings:
        ch.queue_bind(q, exchange, routing_key=key, arguments=args)
    return q


def bodies(ch, q):
    """All messages now in q (basic.get until get-empty), after a round-trip so routing is done."""
    ch.queue_declare(q, passive=True)
    out = []
    while True:
        method, _, body = ch.basic_get(q, auto_ack=True)
        if method is None:
            return sorted(out)
        out.append(body.decode())


def case_predeclared(ctx):
    """amq.direct, amq.fanout, amq.topic, amq.headers and amq.match exist with their types."""
    ch = ctx.channel()
    for name, kind in (("amq.direct", "direct"), ("amq.fanout", "fanout"), ("amq.topic", "topic"),
                       ("amq.headers", "headers"), ("amq.match", "headers")):
        ch.exchange_declare(name, passive=True)
        ch.exchange_declare(name, exchange_type=kind, durable=True)  # same properties: ok
    q = bound_queue(ctx, ch, "amq.topic", ("a.*", None))
    ch.basic_publish("amq.topic", "a.b", b"via amq.topic")
    eq(bodies(ch, q), ["via amq.topic"], "message through amq.topic")


def case_reserved_prefix(ctx):
    """Declaring an exchange named amq.* (non-passive) is refused with 403 ACCESS_REFUSED."""
    ch = ctx.channel()
    name = "amq." + uniq("mine")
    e = expect_channel_close(lambda: ch.exchange_declare(name, exchange_type="direct"), 403, "declare amq.* exchange")
    check(name in e.reply_text, f"reply text {e.reply_text!r}")


def case_default_exchange(ctx):
    """The default exchange routes by queue name and cannot be bound to or deleted (403)."""
    conn = ctx.connect()
    ch = conn.channel()
    q = ctx.queue()
    ch.queue_declare(q)
    ch.basic_publish("", q, b"by name")
    eq(bodies(ch, q), ["by name"], "default exchange routing")
    expect_channel_close(lambda: ch.queue_bind(q, "", routing_key="x"), 403, "bind to the default exchange")
    ch = conn.channel()
    expect_channel_close(lambda: ch.exchange_delete(""), 403, "delete the default exchange")


def case_direct(ctx):
    """A direct exchange routes on exact key equality, to every matching binding."""
    ch = ctx.channel()
    x = ctx.exchange()
    ch.exchange_declare(x, exchange_type="direct")
    a = bound_queue(ctx, ch, x, ("k1", None))
    b = bound_queue(ctx, ch, x, ("k1", None), ("k2", None))
    for key in ("k1", "k2", "k3", "k1.x"):
        ch.basic_publish(x, key, key.encode())
    eq(bodies(ch, a), ["k1"], "queue bound with k1")
    eq(bodies(ch, b), ["k1", "k2"], "queue bound with k1 and k2")


def case_fanout(ctx):
    """A fanout exchange copies each message to every bound queue, ignoring the key."""
    ch = ctx.channel()
    x = ctx.exchange()
    ch.exchange_declare(x, exchange_type="fanout")
    qs = [bound_queue(ctx, ch, x, ("", None)) for _ in range(3)]
    ch.basic_publish(x, "any.key", b"everyone")
    for q in qs:
        eq(bodies(ch, q), ["everyone"], f"fanout copy in {q}")


def case_topic_car2home(ctx):
    """Topic routing with Car2Home keys: `*` is one word, `#` is zero or more."""
    ch = ctx.channel()
    x = ctx.exchange()
    ch.exchange_declare(x, exchange_type="topic")
    smarthome = bound_queue(ctx, ch, x, ("webos.smarthome.*", None))
    everything = bound_queue(ctx, ch, x, ("webos.#", None))
    car_status = bound_queue(ctx, ch, x, ("webos.car.status", None))
    for key in ("webos.smarthome.light", "webos.smarthome.light.on", "webos.car.status", "webos", "other.smarthome.light"):
        ch.basic_publish(x, key, key.encode())
    eq(bodies(ch, smarthome), ["webos.smarthome.light"], "webos.smarthome.*")
    eq(bodies(ch, everything), sorted(["webos", "webos.car.status", "webos.smarthome.light", "webos.smarthome.light.on"]), "webos.#")
    eq(bodies(ch, car_status), ["webos.car.status"], "webos.car.status")


def case_headers(ctx):
    """A headers exchange with x-match all and any."""
    ch = ctx.channel()
    x = ctx.exchange()
    ch.exchange_declare(x, exchange_type="headers")
    q_all = bound_queue(ctx, ch, x, ("", {"x-match": "all", "device": "car", "kind": "status"}))
    q_any = bound_queue(ctx, ch, x, ("", {"x-match": "any", "device": "car", "kind": "status"}))
    for name, headers in (("both", {"device": "car", "kind": "status"}), ("device", {"device": "car"}),
                          ("wrong", {"device": "camera", "kind": "alarm"}), ("none", None),
                          ("extra", {"device": "car", "kind": "status", "more": 1})):
        ch.basic_publish(x, "ignored", name.encode(), pika.BasicProperties(headers=headers))
    eq(bodies(ch, q_all), ["both", "extra"], "x-match all")
    eq(bodies(ch, q_any), ["both", "device", "extra"], "x-match any")


def case_redeclare_mismatch(ctx):
    """Redeclaring an exchange with another type: 406 with `inequivalent arg 'type'`."""
    ch = ctx.channel()
    x = ctx.exchange()
    ch.exchange_declare(x, exchange_type="direct")
    ch.exchange_declare(x, exchange_type="direct")
    e = expect_channel_close(lambda: ch.exchange_declare(x, exchange_type="fanout"), 406, "redeclare as fanout")
    check("inequivalent arg 'type'" in e.reply_text, f"reply text {e.reply_text!r}")


def case_passive(ctx):
    """Passive exchange declare: ok when it exists, 404 when not."""
    ch = ctx.channel()
    x = ctx.exchange()
    ch.exchange_declare(x, exchange_type="topic")
    ch.exchange_declare(x, passive=True)
    missing = uniq("missing")
    e = expect_channel_close(lambda: ch.exchange_declare(missing, passive=True), 404, "passive declare of a missing exchange")
    check(missing in e.reply_text, f"reply text {e.reply_text!r} does not name the exchange")


def case_delete_if_unused(ctx):
    """exchange.delete if-unused with a binding: 406; without: deleted. Deleting a missing one is ok."""
    conn = ctx.connect()
    ch = conn.channel()
    x = ctx.exchange()
    ch.exchange_declare(x, exchange_type="direct")
    q = bound_queue(ctx, ch, x, ("k", None))
    expect_channel_close(lambda: ch.exchange_delete(x, if_unused=True), 406, "delete if-unused with a binding")
    ch = conn.channel()
    ch.queue_unbind(q, x, routing_key="k")
    ch.exchange_delete(x, if_unused=True)
    expect_channel_close(lambda: ch.exchange_declare(x, passive=True), 404, "passive declare after delete")
    ch = conn.channel()
    ch.exchange_delete(uniq("never-declared"))
    ch.queue_unbind(q, "amq.direct", routing_key="never-bound")  # idempotent unbind


def case_publish_missing_exchange(ctx):
    """Publishing to an exchange that does not exist closes the channel with 404."""
    conn = ctx.connect()
    ch = conn.channel()
    missing = uniq("missing")
    ch.basic_publish(missing, "k", b"lost")
    e = expect_channel_close(lambda: ch.queue_declare("", exclusive=True), 404, "publish to a missing exchange")
    check(missing in e.reply_text, f"reply text {e.reply_text!r}")


def case_bind_missing(ctx):
    """queue.bind with a missing queue or a missing exchange: 404."""
    conn = ctx.connect()
    ch = conn.channel()
    q = ch.queue_declare("", exclusive=True).method.queue
    expect_channel_close(lambda: ch.queue_bind(q, uniq("missing-x"), routing_key="k"), 404, "bind to a missing exchange")
    ch = conn.channel()
    expect_channel_close(lambda: ch.queue_bind(uniq("missing-q"), "amq.direct", routing_key="k"), 404, "bind a missing queue")


def case_internal(ctx):
    """An internal exchange cannot be published to (403) but routes what exchanges send it."""
    conn = ctx.connect()
    ch = conn.channel()
    front = ctx.exchange("front")
    inner = ctx.exchange("inner")
    ch.exchange_declare(front, exchange_type="fanout")
    ch.exchange_declare(inner, exchange_type="fanout", internal=True)
    ch.exchange_bind(destination=inner, source=front)
    q = bound_queue(ctx, ch, inner, ("", None))
    ch.basic_publish(front, "", b"through front")
    eq(bodies(ch, q), ["through front"], "exchange-to-exchange routing into an internal exchange")
    ch.basic_publish(inner, "", b"direct to internal")
    expect_channel_close(lambda: ch.queue_declare("", exclusive=True), 403, "publish to an internal exchange")


def case_exchange_to_exchange(ctx):
    """exchange.bind routes from one exchange to another with the binding's key; unbind stops it."""
    ch = ctx.channel()
    src = ctx.exchange("src")
    dst = ctx.exchange("dst")
    ch.exchange_declare(src, exchange_type="topic")
    ch.exchange_declare(dst, exchange_type="direct")
    ch.exchange_bind(destination=dst, source=src, routing_key="webos.car.*")
    q = bound_queue(ctx, ch, dst, ("webos.car.door", None))
    ch.basic_publish(src, "webos.car.door", b"door")
    ch.basic_publish(src, "webos.camera.door", b"camera")
    eq(bodies(ch, q), ["door"], "routed through the exchange binding")
    ch.exchange_unbind(destination=dst, source=src, routing_key="webos.car.*")
    ch.basic_publish(src, "webos.car.door", b"after unbind")
    eq(bodies(ch, q), [], "after exchange.unbind")


def case_auto_delete(ctx):
    """An auto-delete exchange goes when its last binding is removed."""
    ch = ctx.channel()
    x = uniq("autodel-x")
    ch.exchange_declare(x, exchange_type="direct", auto_delete=True)
    q = bound_queue(ctx, ch, x, ("k", None))
    ch.exchange_declare(x, passive=True)
    ch.queue_unbind(q, x, routing_key="k")
    expect_channel_close(lambda: ch.exchange_declare(x, passive=True), 404, "auto-delete exchange after its last unbind")


if __name__ == "__main__":
    run(globals())
