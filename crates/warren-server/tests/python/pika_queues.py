"""Queue behaviour through pika: declare flags, names, counts, purge, delete, exclusivity."""

import pika
import pika.exceptions

from warren_testlib import check, eq, expect_channel_close, run, uniq, wait_for


def publish(ch, queue, n, prefix="m"):
    for i in range(n):
        ch.basic_publish("", queue, f"{prefix}{i}".encode())


def wait_count(ch, queue, want, what):
    """Passive declare until the ready count is `want` (publishes are asynchronous)."""
    got = None
    for _ in range(50):
        got = ch.queue_declare(queue, passive=True).method.message_count
        if got == want:
            return
        ch.connection.sleep(0.05)
    eq(got, want, what)


def case_server_named(ctx):
    """queue.declare with an empty name: the server picks an `amq.gen-` name, unique per declare."""
    ch = ctx.channel()
    a = ch.queue_declare("", exclusive=True).method.queue
    b = ch.queue_declare("", exclusive=True).method.queue
    check(a.startswith("amq.gen-"), f"server-named queue {a!r} does not start with amq.gen-")
    check(a != b, f"two server-named queues got the same name {a!r}")
    ch.basic_publish("", a, b"to the generated name")
    wait_count(ch, a, 1, "message routed by the generated name")


def case_declare_ok_counts(ctx):
    """declare-ok carries the ready message count and the consumer count."""
    ch = ctx.channel()
    q = ctx.queue()
    ok = ch.queue_declare(q).method
    eq((ok.queue, ok.message_count, ok.consumer_count), (q, 0, 0), "fresh declare-ok")
    publish(ch, q, 3)
    wait_count(ch, q, 3, "ready messages after 3 publishes")
    eq(ch.queue_declare(q).method.consumer_count, 0, "consumer count before consuming")
    ch2 = ctx.connect().channel()
    ch2.basic_qos(prefetch_count=1)
    got = []
    ch2.basic_consume(q, lambda *a: got.append(a))
    wait_for(lambda: got, conn=ch2.connection, what="the first delivery")
    ok = ch.queue_declare(q, passive=True).method
    eq((ok.message_count, ok.consumer_count), (2, 1), "declare-ok with one unacked delivery and one consumer")


def case_passive(ctx):
    """Passive declare of an existing queue succeeds; of a missing queue fails with 404."""
    ch = ctx.channel()
    q = ctx.queue()
    ch.queue_declare(q)
    eq(ch.queue_declare(q, passive=True).method.queue, q, "passive declare of an existing queue")
    missing = uniq("missing")
    e = expect_channel_close(lambda: ch.queue_declare(missing, passive=True), 404, "passive declare of a missing queue")
    check(missing in e.reply_text, f"reply text {e.reply_text!r} does not name the queue")


def case_redeclare_mismatch(ctx):
    """Redeclaring a queue with other properties: 406 with `inequivalent arg` in the text."""
    conn = ctx.connect()
    ch = conn.channel()
    q = ctx.queue()
    ch.queue_declare(q, durable=False)
    ch.queue_declare(q, durable=False)  # same properties: fine
    e = expect_channel_close(lambda: ch.queue_declare(q, durable=True), 406, "redeclare with durable=true")
    check("inequivalent arg 'durable'" in e.reply_text, f"reply text {e.reply_text!r}")
    ch = conn.channel()
    e = expect_channel_close(lambda: ch.queue_declare(q, auto_delete=True), 406, "redeclare with auto_delete=true")
    check("inequivalent arg 'auto_delete'" in e.reply_text, f"reply text {e.reply_text!r}")


def case_exclusive(ctx):
    """An exclusive queue is locked to its connection (405 elsewhere) and dies with it."""
    owner = ctx.connect()
    ch = owner.channel()
    q = uniq("excl")
    ch.queue_declare(q, exclusive=True)
    ch.basic_publish("", q, b"mine")  # the default exchange still routes to it
    other = ctx.connect()
    e = expect_channel_close(lambda: other.channel().queue_declare(q, passive=True), 405, "passive declare from another connection")
    check(q in e.reply_text, f"reply text {e.reply_text!r} does not name the queue")
    expect_channel_close(lambda: other.channel().basic_consume(q, lambda *a: None), 405, "consume from another connection")
    expect_channel_close(lambda: other.channel().queue_declare(q, exclusive=True), 405, "exclusive redeclare from another connection")
    # A second channel on the owning connection may use it.
    ch2 = owner.channel()
    ch2.basic_consume(q, lambda *a: None)
    owner.close()
    expect_channel_close(lambda: other.channel().queue_declare(q, passive=True), 404, "exclusive queue after its connection closed")


def case_auto_delete(ctx):
    """An auto-delete queue goes when its last consumer is cancelled, not before it has one."""
    conn = ctx.connect()
    ch = conn.channel()
    q = uniq("autodel")
    ch.queue_declare(q, auto_delete=True)
    conn.sleep(0.2)
    ch.queue_declare(q, passive=True)  # never consumed: still there
    c1 = ch.basic_consume(q, lambda *a: None)
    c2 = ch.basic_consume(q, lambda *a: None)
    ch.basic_cancel(c1)
    eq(ch.queue_declare(q, passive=True).method.consumer_count, 1, "consumers after cancelling one of two")
    ch.basic_cancel(c2)
    probe = ctx.connect().channel()
    for _ in range(20):
        try:
            probe.queue_declare(q, passive=True)
        except pika.exceptions.ChannelClosedByBroker as e:
            eq(e.reply_code, 404, "passive declare after the last consumer left")
            return
        probe.connection.sleep(0.05)
    check(False, "auto-delete queue still exists after its last consumer was cancelled")


def case_purge(ctx):
    """queue.purge answers with the number of messages it removed."""
    ch = ctx.channel()
    q = ctx.queue()
    ch.queue_declare(q)
    publish(ch, q, 4)
    wait_count(ch, q, 4, "ready before purge")
    eq(ch.queue_purge(q).method.message_count, 4, "purge-ok count")
    eq(ch.queue_declare(q, passive=True).method.message_count, 0, "ready after purge")
    eq(ch.queue_purge(q).method.message_count, 0, "purge-ok count of an empty queue")


def case_delete_if_unused(ctx):
    """queue.delete if-unused with a consumer: 406; without: deleted, delete-ok counts messages."""
    conn = ctx.connect()
    ch = conn.channel()
    q = ctx.queue()
    ch.queue_declare(q)
    consumer = conn.channel()
    tag = consumer.basic_consume(q, lambda *a: None)
    e = expect_channel_close(lambda: conn.channel().queue_delete(q, if_unused=True), 406, "delete if-unused with a consumer")
    check(q in e.reply_text and "in use" in e.reply_text, f"reply text {e.reply_text!r}")
    consumer.basic_cancel(tag)
    ch = conn.channel()
    publish(ch, q, 2)
    wait_count(ch, q, 2, "ready before delete")
    eq(ch.queue_delete(q, if_unused=True).method.message_count, 2, "delete-ok message count")
    expect_channel_close(lambda: ch.queue_declare(q, passive=True), 404, "passive declare after delete")


def case_delete_if_empty(ctx):
    """queue.delete if-empty with messages: 406; once empty: deleted."""
    conn = ctx.connect()
    ch = conn.channel()
    q = ctx.queue()
    ch.queue_declare(q)
    publish(ch, q, 1)
    wait_count(ch, q, 1, "ready before delete")
    e = expect_channel_close(lambda: ch.queue_delete(q, if_empty=True), 406, "delete if-empty with a message")
    check(q in e.reply_text and "not empty" in e.reply_text, f"reply text {e.reply_text!r}")
    ch = conn.channel()
    ch.queue_purge(q)
    eq(ch.queue_delete(q, if_empty=True).method.message_count, 0, "delete-ok of an empty queue")


def case_delete_idempotent(ctx):
    """Deleting a queue that does not exist succeeds (RabbitMQ's departure from the spec)."""
    ch = ctx.channel()
    eq(ch.queue_delete(uniq("never-declared")).method.message_count, 0, "delete-ok of a missing queue")
    ch.queue_declare("", exclusive=True)  # the channel is still open


def case_durable(ctx):
    """A durable queue declares and redeclares as durable."""
    ch = ctx.channel()
    q = ctx.queue()
    ch.queue_declare(q, durable=True)
    ch.queue_declare(q, durable=True)
    eq(ch.queue_declare(q, passive=True).method.queue, q, "passive declare of the durable queue")


if __name__ == "__main__":
    run(globals())
