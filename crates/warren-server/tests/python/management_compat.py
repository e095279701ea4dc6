"""Drives the management API with third-party clients written for RabbitMQ's API:
amqpstorm's ManagementApi (PyPI AMQPStorm) and plain `requests` calls following RabbitMQ's
documented examples. Run against Warren or RabbitMQ alike.

Usage: python management_compat.py BASE_URL USER PASSWORD CASE   (prints "PASS CASE")
Cases: amqpstorm, requests
"""

import json
import sys
import time
import uuid

import requests
from amqpstorm.management import ApiError, ManagementApi


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


def case_amqpstorm(base, user, password):
    api = ManagementApi(base, user, password, timeout=10)
    suffix = uuid.uuid4().hex[:8]
    queue, exchange, vhost, new_user = (f"compat.q.{suffix}", f"compat.x.{suffix}",
                                        f"compat-vh-{suffix}", f"compat-user-{suffix}")
    check(api.aliveness_test("/")["status"] == "ok", "aliveness")
    check(api.whoami()["name"] == user, "whoami")
    overview = api.overview()
    check("object_totals" in overview and "queue_totals" in overview, "overview shape")
    check(api.nodes()[0]["name"] == overview["node"], "nodes")
    check(api.healthchecks.get()["status"] == "ok", "healthchecks")

    api.queue.declare(queue, durable=True, arguments={"x-max-length": 10})
    api.exchange.declare(exchange, exchange_type="topic")
    api.queue.bind(queue=queue, exchange=exchange, routing_key="car.*")
    check(any(b["source"] == exchange for b in api.queue.bindings(queue)), "queue bindings")
    check(any(b["destination"] == queue for b in api.exchange.bindings(exchange)), "exchange bindings")
    for i in range(3):
        api.basic.publish(body=f"msg {i}", routing_key="car.lock", exchange=exchange,
                          properties={"content_type": "text/plain", "headers": {"i": i}})
    eventually("3 messages", lambda: api.queue.get(queue).get("messages") == 3)
    names = [q["name"] for q in api.queue.list(name=queue)]
    check(queue in names, f"queue.list(name=...) finds it: {names}")
    check(any(q["name"] == queue for q in api.queue.list(show_all=True)), "queue.list(show_all)")
    check(any(x["name"] == exchange for x in api.exchange.list()), "exchange.list")
    check(api.exchange.get(exchange)["type"] == "topic", "exchange.get")

    peeked = api.basic.get(queue, requeue=True, count=2)
    check([m.body for m in peeked] == ["msg 0", "msg 1"], f"peek bodies {[m.body for m in peeked]}")
    check(peeked[0].properties.get("content_type") == "text/plain", "properties survive")
    taken = api.basic.get(queue, requeue=False, count=1, to_dict=True)
    check(taken[0]["payload"] == "msg 0" and taken[0]["redelivered"], f"taken {taken}")
    eventually("2 messages", lambda: api.queue.get(queue).get("messages") == 2)
    api.queue.purge(queue)
    eventually("purged", lambda: api.queue.get(queue).get("messages") == 0)

    api.virtual_host.create(vhost)
    check(api.virtual_host.get(vhost)["name"] == vhost, "vhost get")
    api.user.create(new_user, "pw", tags="management")
    api.user.set_permission(new_user, vhost, ".*", ".*", ".*")
    check(api.user.get_permission(new_user, vhost)["read"] == ".*", "user permission")
    check(any(p["user"] == new_user for p in api.virtual_host.get_permissions(vhost)), "vhost permissions")
    as_new = ManagementApi(base, new_user, "pw", timeout=10)
    check(as_new.whoami()["name"] == new_user, "new user logs in")
    try:
        as_new.user.list()
        raise AssertionError("a management user listed users")
    except ApiError as e:
        check(e.error_code == 401, f"401 for a non-administrator, got {e.error_code}")
    try:
        api.queue.get(queue + ".missing")
        raise AssertionError("missing queue found")
    except ApiError as e:
        check(e.error_code == 404, f"404 for a missing queue, got {e.error_code}")
    check(isinstance(api.connection.list(), list) and isinstance(api.channel.list(), list), "live lists")

    api.user.delete(new_user)
    api.virtual_host.delete(vhost)
    api.queue.unbind(queue=queue, exchange=exchange, routing_key="car.*")
    api.exchange.delete(exchange)
    api.queue.delete(queue)
    check(not any(q["name"] == queue for q in api.queue.list()), "queue deleted")


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


CASES = {"amqpstorm": case_amqpstorm, "requests": case_requests}

if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[4] not in CASES:
        print(__doc__)
        sys.exit(64)
    base, user, password, case = sys.argv[1:5]
    CASES[case](base, user, password)
    print(f"PASS {case}")
