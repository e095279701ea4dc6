"""Drives the management API with third-party clients written for RabbitMQ's API:
pyrabbit2's Client (PyPI pyrabbit2) and plain `requests` calls following RabbitMQ's
documented examples. Run against Warren or RabbitMQ alike. (amqpstorm's management client would
do as well, but AMQPStorm and aio-pika pin incompatible pamqp versions.)

Usage: python management_compat.py BASE_URL USER PASSWORD CASE   (prints "PASS CASE")
Cases: pyrabbit2, requests
"""

import json
import sys
import time
import uuid

import requests


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def eventually(what, fn, timeout=12.0):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.2)


def case_pyrabbit2(base, user, password):
    from pyrabbit2.api import Client
    from pyrabbit2.api import PermissionError as NotAuthorised
    from pyrabbit2.http import HTTPError

    host = base.split("://", 1)[-1]
    api = Client(host, user, password, timeout=10)
    suffix = uuid.uuid4().hex[:8]
    queue, exchange, vhost, new_user = (f"compat.q.{suffix}", f"compat.x.{suffix}",
                                        f"compat-vh-{suffix}", f"compat-user-{suffix}")
    check(api.is_alive(), "aliveness")
    check(api.get_whoami()["name"] == user, "whoami")
    overview = api.get_overview()
    check("object_totals" in overview and "queue_totals" in overview, "overview shape")
    check(api.get_nodes()[0]["name"] == overview["node"], "nodes")
    check("/" in api.get_vhost_names(), "vhost names")

    api.create_queue("/", queue, durable=True, arguments={"x-max-length": 10})
    api.create_exchange("/", exchange, "topic")
    api.create_binding("/", exchange, queue, "car.*")
    check(any(b["source"] == exchange for b in api.get_queue_bindings("/", queue)), "queue bindings")
    for i in range(3):
        routed = api.publish("/", exchange, "car.lock", f"msg {i}",
                             properties={"content_type": "text/plain", "headers": {"i": i}})
        check(routed is True, "routed")
    eventually("3 messages", lambda: api.get_queue("/", queue).get("messages") == 3)
    check(queue in [q["name"] for q in api.get_queues("/")], "get_queues")
    check(queue in [q["name"] for q in api.get_queues(pattern=queue)], "get_queues(pattern)")
    check(any(x["name"] == exchange for x in api.get_exchanges("/")), "get_exchanges")
    check(api.get_exchange("/", exchange)["type"] == "topic", "get_exchange")

    peeked = api.get_messages("/", queue, count=2, requeue=True)
    check([m["payload"] for m in peeked] == ["msg 0", "msg 1"], f"peek {peeked}")
    check(peeked[0]["properties"]["headers"] == {"i": 0}, "properties survive")
    taken = api.get_messages("/", queue, count=1, requeue=False)
    check(taken[0]["payload"] == "msg 0" and taken[0]["redelivered"], f"taken {taken}")
    eventually("2 messages", lambda: api.get_queue("/", queue).get("messages") == 2)
    api.purge_queue("/", queue)
    eventually("purged", lambda: api.get_queue("/", queue).get("messages") == 0)

    api.create_vhost(vhost)
    check(api.get_vhost(vhost)["name"] == vhost, "vhost get")
    api.create_user(new_user, "pw", tags="management")
    api.set_vhost_permissions(vhost, new_user, ".*", ".*", ".*")
    check(api.get_permission(vhost, new_user)["read"] == ".*", "permission")
    check(any(p["user"] == new_user for p in api.get_vhost_permissions(vhost)), "vhost permissions")
    as_new = Client(host, new_user, "pw", timeout=10)
    check(as_new.get_whoami()["name"] == new_user, "new user logs in")
    try:
        as_new.get_users()
        raise AssertionError("a management user listed users")
    except NotAuthorised:
        pass  # pyrabbit2's exception for a 401
    try:
        api.get_queue("/", queue + ".missing")
        raise AssertionError("missing queue found")
    except HTTPError as e:
        check(e.status == 404, f"404 for a missing queue, got {e.status}")
    check(isinstance(api.get_connections(), list) and isinstance(api.get_channels(), list), "live lists")
    check(any(d["name"] == queue for d in api.get_definitions()["queues"]), "definitions")

    api.delete_user(new_user)
    api.delete_vhost(vhost)
    api.delete_binding("/", exchange, queue, "car.*")
    check(not any(b["source"] == exchange for b in api.get_queue_bindings("/", queue)), "unbound")
    api.delete_exchange("/", exchange)
    api.delete_queue("/", queue)
    check(queue not in [q["name"] for q in api.get_queues("/")], "queue deleted")


def case_requests(base, user, password):
    # The calls of RabbitMQ's management HTTP API documentation, made with `requests`.
    s = requests.Session()
    s.auth = (user, password)
    s.headers["content-type"] = "application/json"
    q = f"compat.req.{uuid.uuid4().hex[:8]}"
    r = s.put(f"{base}/api/queues/%2F/{q}", data=json.dumps({"auto_delete": False, "durable": True, "arguments": {}}))
    check(r.status_code == 201, f"declare: {r.status_code} {r.text}")
    r = s.post(f"{base}/api/exchanges/%2F/amq.default/publish",
               data=json.dumps({"properties": {}, "routing_key": q, "payload": "hello", "payload_encoding": "string"}))
    check(r.status_code == 200 and r.json() == {"routed": True}, f"publish: {r.text}")
    r = s.post(f"{base}/api/queues/%2F/{q}/get",
               data=json.dumps({"count": 5, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 50000}))
    check(r.status_code == 200 and r.json()[0]["payload"] == "hello", f"get: {r.text}")
    r = s.get(f"{base}/api/queues/%2F/{q}")
    check(r.status_code == 200 and r.json()["name"] == q, f"queue: {r.text}")
    r = requests.get(f"{base}/api/overview", auth=(user, "not-the-password"))
    check(r.status_code == 401 and r.json()["error"] == "not_authorized", f"bad login: {r.status_code} {r.text}")
    r = s.get(f"{base}/api/queues/%2F/{q}.missing")
    check(r.status_code == 404 and set(r.json()) == {"error", "reason"}, f"404: {r.text}")
    r = s.get(f"{base}/api/definitions")
    check(r.status_code == 200 and any(x["name"] == q for x in r.json()["queues"]), "definitions")
    r = s.delete(f"{base}/api/queues/%2F/{q}")
    check(r.status_code == 204, f"delete: {r.status_code}")


CASES = {"pyrabbit2": case_pyrabbit2, "requests": case_requests}

if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[4] not in CASES:
        print(__doc__)
        sys.exit(64)
    base, user, password, case = sys.argv[1:5]
    CASES[case](base, user, password)
    print(f"PASS {case}")
