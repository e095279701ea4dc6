"""Shared helpers for Warren's Python integration cases.

Every case script is run as ``python SCRIPT HOST PORT CASE [ARGS...]``. A case is a function
``case_<name>(ctx)``; it passes by returning and fails by raising ``CaseFailed`` (or any other
exception). The runner prints ``PASS <case>`` on success and exits 0; on failure it prints
``FAIL <case>: <why>`` to stderr and exits 1, so the Rust side can assert the exit status.
"""

import sys
import time
import traceback
import uuid

import pika
import pika.exceptions

# AMQP reply codes and the code names RabbitMQ puts in front of reply texts ("NOT_FOUND - ...").
CODE_NAMES = {
    200: "OK",
    312: "NO_ROUTE",
    313: "NO_CONSUMERS",
    320: "CONNECTION_FORCED",
    402: "INVALID_PATH",
    403: "ACCESS_REFUSED",
    404: "NOT_FOUND",
    405: "RESOURCE_LOCKED",
    406: "PRECONDITION_FAILED",
    501: "FRAME_ERROR",
    502: "SYNTAX_ERROR",
    503: "COMMAND_INVALID",
    504: "CHANNEL_ERROR",
    505: "UNEXPECTED_FRAME",
    506: "RESOURCE_ERROR",
    530: "NOT_ALLOWED",
    540: "NOT_IMPLEMENTED",
    541: "INTERNAL_ERROR",
}


class CaseFailed(Exception):
    """A case's expectation did not hold."""


def check(cond, msg):
    if not cond:
        raise CaseFailed(msg)


def eq(actual, expected, what):
    if actual != expected:
        raise CaseFailed(f"{what}: expected {expected!r}, got {actual!r}")


def check_reply(code, text, expected_code, what):
    """Reply code must match and the text must start with the code's name and ' - '."""
    prefix = CODE_NAMES[expected_code] + " - "
    if code != expected_code:
        raise CaseFailed(f"{what}: expected reply code {expected_code}, got {code} ({text!r})")
    if not str(text).startswith(prefix):
        raise CaseFailed(f"{what}: reply text {text!r} does not start with {prefix!r}")


def uniq(prefix):
    """A name no other test uses (tests share a broker under WARREN_TEST_BROKER)."""
    return f"itest.{prefix}.{uuid.uuid4().hex[:10]}"


class Ctx:
    """What a case gets: the broker address, extra arguments, and connection helpers."""

    def __init__(self, host, port, args):
        self.host = host
        self.port = port
        self.args = args
        self._connections = []
        self._cleanup_queues = []
        self._cleanup_exchanges = []

    def params(self, user="guest", password="guest", vhost="/", **kw):
        kw.setdefault("connection_attempts", 1)
        kw.setdefault("socket_timeout", 5)
        kw.setdefault("blocked_connection_timeout", 10)
        return pika.ConnectionParameters(
            host=self.host,
            port=self.port,
            virtual_host=vhost,
            credentials=pika.PlainCredentials(user, password),
            **kw,
        )

    def connect(self, **kw):
        conn = pika.BlockingConnection(self.params(**kw))
        self._connections.append(conn)
        return conn

    def channel(self, **kw):
        return self.connect(**kw).channel()

    def queue(self, prefix="q"):
        """A unique queue name that is deleted when the case ends."""
        name = uniq(prefix)
        self._cleanup_queues.append(name)
        return name

    def exchange(self, prefix="x"):
        """A unique exchange name that is deleted when the case ends."""
        name = uniq(prefix)
        self._cleanup_exchanges.append(name)
        return name

    def close(self):
        for conn in self._connections:
            try:
                if conn.is_open:
                    conn.close()
            except Exception:  # noqa: BLE001 - best effort teardown
                pass
        if not (self._cleanup_queues or self._cleanup_exchanges):
            return
        try:
            conn = pika.BlockingConnection(self.params())
            for q in self._cleanup_queues:
                ch = conn.channel()
                try:
                    ch.queue_delete(q)
                    ch.close()
                except Exception:  # noqa: BLE001
                    pass
            for x in self._cleanup_exchanges:
                ch = conn.channel()
                try:
                    ch.exchange_delete(x)
                    ch.close()
                except Exception:  # noqa: BLE001
                    pass
            conn.close()
        except Exception:  # noqa: BLE001
            pass


def expect_channel_close(fn, code, what):
    """Run fn; it must fail with a channel exception carrying `code`. Returns the exception."""
    try:
        fn()
    except pika.exceptions.ChannelClosedByBroker as e:
        check_reply(e.reply_code, e.reply_text, code, what)
        return e
    raise CaseFailed(f"{what}: expected channel close {code}, but the call succeeded")


def expect_connection_close(fn, code, what):
    """Run fn; it must fail with a connection exception carrying `code`."""
    try:
        fn()
    except pika.exceptions.ConnectionClosedByBroker as e:
        check_reply(e.reply_code, e.reply_text, code, what)
        return e
    raise CaseFailed(f"{what}: expected connection close {code}, but the call succeeded")


def drain(ch, queue, want, timeout=5.0, auto_ack=True):
    """Consume up to `want` messages from `queue` (basic.consume); returns [(method, props, body)]."""
    got = []
    for method, props, body in ch.consume(queue, auto_ack=auto_ack, inactivity_timeout=timeout):
        if method is None:
            break
        got.append((method, props, body))
        if len(got) >= want:
            break
    ch.cancel()
    return got


def wait_for(pred, timeout=5.0, conn=None, what="condition"):
    """Poll `pred` (processing pika events on `conn`) until it is true or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        if conn is not None:
            conn.process_data_events(time_limit=0.05)
        else:
            time.sleep(0.05)
    raise CaseFailed(f"timed out waiting for {what}")


def run(cases):
    """Entry point: python SCRIPT HOST PORT CASE [ARGS...]."""
    if len(sys.argv) < 4:
        names = " ".join(sorted(k[5:] for k in cases if k.startswith("case_")))
        print(f"usage: {sys.argv[0]} HOST PORT CASE [ARGS...]\ncases: {names}", file=sys.stderr)
        sys.exit(2)
    host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    fn = cases.get("case_" + name)
    if fn is None:
        print(f"FAIL {name}: no such case in {sys.argv[0]}", file=sys.stderr)
        sys.exit(2)
    ctx = Ctx(host, port, sys.argv[4:])
    try:
        fn(ctx)
    except CaseFailed as e:
        print(f"FAIL {name}: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001 - any other error is a failure with its traceback
        traceback.print_exc()
        print(f"FAIL {name}: unexpected {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        ctx.close()
    print(f"PASS {name}")
    sys.stdout.flush()
