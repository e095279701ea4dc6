"""A tiny raw AMQP 0-9-1 client for the cases no real client can express.

Only what the integration cases need: frame and method encoding, field tables, the handshake,
and reading frames until the server closes the connection. Written from the 0-9-1 spec; it has no
dependency on Warren's own codec so that it tests the broker, not the codec against itself.
"""

import socket
import struct
import time

FRAME_METHOD = 1
FRAME_HEADER = 2
FRAME_BODY = 3
FRAME_HEARTBEAT = 8
FRAME_END = 0xCE
PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


def shortstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">B", len(b)) + b


def longstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">I", len(b)) + b


def table(d):
    """Encode a field table of str/bool/int/bytes/dict values."""
    out = b""
    for k, v in d.items():
        out += shortstr(k)
        if isinstance(v, bool):
            out += b"t" + struct.pack(">B", 1 if v else 0)
        elif isinstance(v, int):
            out += b"l" + struct.pack(">q", v)
        elif isinstance(v, dict):
            out += b"F" + table(v)
        else:
            out += b"S" + longstr(v)
    return struct.pack(">I", len(out)) + out


class Reader:
    """Reads big-endian fields from a method payload."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError(f"truncated payload: need {n} bytes at {self.pos} of {len(self.data)}")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def octet(self):
        return self.take(1)[0]

    def short(self):
        return struct.unpack(">H", self.take(2))[0]

    def long(self):
        return struct.unpack(">I", self.take(4))[0]

    def longlong(self):
        return struct.unpack(">Q", self.take(8))[0]

    def shortstr(self):
        return self.take(self.octet()).decode("utf-8", "replace")

    def longstr(self):
        return self.take(self.long())

    def value(self):
        t = chr(self.octet())
        if t == "t":
            return bool(self.octet())
        if t == "b":
            return struct.unpack(">b", self.take(1))[0]
        if t == "B":
            return self.octet()
        if t == "s":
            return struct.unpack(">h", self.take(2))[0]
        if t == "u":
            return self.short()
        if t == "I":
            return struct.unpack(">i", self.take(4))[0]
        if t == "i":
            return self.long()
        if t == "l":
            return struct.unpack(">q", self.take(8))[0]
        if t == "f":
            return struct.unpack(">f", self.take(4))[0]
        if t == "d":
            return struct.unpack(">d", self.take(8))[0]
        if t == "D":
            scale = self.octet()
            return (scale, struct.unpack(">i", self.take(4))[0])
        if t == "S":
            return self.longstr().decode("utf-8", "replace")
        if t == "x":
            return self.longstr()
        if t == "T":
            return ("timestamp", self.longlong())
        if t == "F":
            return self.table()
        if t == "A":
            end = self.pos + self.long()
            items = []
            while self.pos < end:
                items.append(self.value())
            return items
        if t == "V":
            return None
        raise ValueError(f"unknown field type {t!r}")

    def table(self):
        end = self.pos + self.long()
        out = {}
        while self.pos < end:
            k = self.shortstr()
            out[k] = self.value()
        return out


def frame(ftype, channel, payload):
    return struct.pack(">BHI", ftype, channel, len(payload)) + payload + bytes([FRAME_END])


def method(channel, class_id, method_id, args=b""):
    return frame(FRAME_METHOD, channel, struct.pack(">HH", class_id, method_id) + args)


class Closed(Exception):
    """The server closed the TCP connection."""


class RawConnection:
    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.tune = None
        self.server_properties = None
        self.mechanisms = None
        self.locales = None
        self.version = None

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out waiting for {n} bytes (have {len(self.buf)})")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError as e:
                raise Closed(f"connection reset: {e}") from e
            if not chunk:
                raise Closed(f"server closed the socket (buffered: {self.buf!r})")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_frame(self, timeout=5.0):
        """Returns (type, channel, payload)."""
        head = self.recv_exact(7, timeout)
        ftype, channel, size = struct.unpack(">BHI", head)
        payload = self.recv_exact(size, timeout)
        end = self.recv_exact(1, timeout)
        if end[0] != FRAME_END:
            raise ValueError(f"bad frame end {end!r}")
        return ftype, channel, payload

    def read_method(self, timeout=5.0, skip_heartbeats=True):
        """Returns (channel, class_id, method_id, Reader over the arguments)."""
        while True:
            ftype, channel, payload = self.read_frame(timeout)
            if ftype == FRAME_HEARTBEAT and skip_heartbeats:
                continue
            if ftype != FRAME_METHOD:
                raise ValueError(f"expected a method frame, got type {ftype} on channel {channel}")
            r = Reader(payload)
            return channel, r.short(), r.short(), r

    def expect_method(self, class_id, method_id, timeout=5.0):
        ch, c, m, r = self.read_method(timeout)
        if (c, m) == (10, 50):
            code, text = r.short(), r.shortstr()
            raise ValueError(f"expected {class_id}.{method_id}, got connection.close {code} {text!r}")
        if (c, m) != (class_id, method_id):
            raise ValueError(f"expected method {class_id}.{method_id}, got {c}.{m} on channel {ch}")
        return ch, r

    def handshake(self, user="guest", password="guest", vhost="/", frame_max=None, heartbeat=0,
                  channel_max=None, mechanism="PLAIN", open_vhost=True):
        """Header, start/start-ok, tune/tune-ok and (if open_vhost) open/open-ok."""
        self.send(PROTOCOL_HEADER)
        _, r = self.expect_method(10, 10)
        self.version = (r.octet(), r.octet())
        self.server_properties = r.table()
        self.mechanisms = r.longstr().decode()
        self.locales = r.longstr().decode()
        if mechanism == "PLAIN":
            response = b"\x00" + user.encode() + b"\x00" + password.encode()
        else:  # AMQPLAIN: a field table without its length prefix
            response = table({"LOGIN": user, "PASSWORD": password})[4:]
        client_props = table({"product": "warren-itest-raw", "capabilities": {"authentication_failure_close": True}})
        self.send(method(0, 10, 11, client_props + shortstr(mechanism) + longstr(response) + shortstr("en_US")))
        _, r = self.expect_method(10, 30)
        self.tune = (r.short(), r.long(), r.short())
        cm = self.tune[0] if channel_max is None else channel_max
        fm = self.tune[1] if frame_max is None else frame_max
        self.send(method(0, 10, 31, struct.pack(">HIH", cm, fm, heartbeat)))
        if open_vhost:
            self.send(method(0, 10, 40, shortstr(vhost) + shortstr("") + b"\x00"))
            self.expect_method(10, 41)

    def open_channel(self, channel):
        self.send(method(channel, 20, 10, shortstr("")))
        self.expect_method(20, 11)

    def read_until_close(self, timeout=5.0):
        """Read frames until connection.close; answer close-ok; return (code, text, class, method)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no connection.close from the server")
            ftype, channel, payload = self.read_frame(left)
            if ftype != FRAME_METHOD:
                continue
            r = Reader(payload)
            c, m = r.short(), r.short()
            if (c, m) == (10, 50):
                code, text, cls, meth = r.short(), r.shortstr(), r.short(), r.short()
                try:
                    self.send(method(0, 10, 51))
                except OSError:
                    pass
                return code, text, cls, meth

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def queue_declare(channel, name, passive=False, durable=False, exclusive=False, auto_delete=False):
    bits = (1 if passive else 0) | (2 if durable else 0) | (4 if exclusive else 0) | (8 if auto_delete else 0)
    return method(channel, 50, 10, struct.pack(">H", 0) + shortstr(name) + bytes([bits]) + table({}))


def basic_publish(channel, exchange, routing_key, mandatory=False, immediate=False):
    bits = (1 if mandatory else 0) | (2 if immediate else 0)
    return method(channel, 60, 40, struct.pack(">H", 0) + shortstr(exchange) + shortstr(routing_key) + bytes([bits]))


def content_header(channel, body_size, class_id=60):
    # class-id, weight, body size, property flags (none)
    return frame(FRAME_HEADER, channel, struct.pack(">HHQH", class_id, 0, body_size, 0))


def content_body(channel, body):
    return frame(FRAME_BODY, channel, body)
