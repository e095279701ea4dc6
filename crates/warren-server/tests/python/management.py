"""RabbitMQ management HTTP API calls the harness needs when it runs against RabbitMQ
(WARREN_TEST_BROKER): import a definitions document and delete the users it created.

Usage: python management.py HOST:PORT USER:PASSWORD import FILE
       python management.py HOST:PORT USER:PASSWORD delete-user NAME
"""

import base64
import sys
import urllib.error
import urllib.parse
import urllib.request


def call(addr, auth, method, path, body=None):
    req = urllib.request.Request(f"http://{addr}{path}", data=body, method=method)
    req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        print(f"FAIL management: {method} {path}: HTTP {e.code} {e.read()[:500]!r}", file=sys.stderr)
        sys.exit(1)


def main():
    addr, auth, op, arg = sys.argv[1:5]
    if op == "import":
        with open(arg, "rb") as f:
            status = call(addr, auth, "POST", "/api/definitions", f.read())
    elif op == "delete-user":
        status = call(addr, auth, "DELETE", "/api/users/" + urllib.parse.quote(arg, safe=""))
    else:
        print(f"FAIL management: unknown operation {op!r}", file=sys.stderr)
        sys.exit(2)
    print(f"OK {op} {arg}: HTTP {status}")


if __name__ == "__main__":
    main()
