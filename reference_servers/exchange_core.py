"""A reference implementation of the exchange core system's credit API (docs/rails.md, "Exchange account").

Its own process, standard library only:

    python -m reference_servers.exchange_core --port 8765 --secret s3cret [--failure-rate 0.3]
        [--timeout-after-apply-rate 0.1] [--hang-seconds 5] [--latency-ms 20] [--state var/core.sqlite3]

Every request but GET /v1/health is signed: X-Key-Id, X-Timestamp (Unix
seconds, within 300 s of the server's clock) and X-Signature, the hex
HMAC-SHA256 with the shared secret of "<timestamp>\\n<METHOD>\\n<path>\\n<hex SHA-256 of the body>".

- POST /v1/credits with an Idempotency-Key header and {"account_id", "amount_jpy", "currency": "JPY",
  "reference"}: 201 and the credit when applied; the same key and body again: 200 and the same credit,
  never a second one; the same key with another body: 409; a closed or unknown account: 422.
- GET /v1/credits/<idempotency key>: 200 and the credit, or 404 when no credit has that key.
- GET /v1/health: 200 {"status": "ok", "credits": n}.
- POST /_admin/faults (signed) {"failure_rate", "timeout_after_apply_rate", "hang_seconds", "latency_ms",
  "closed_accounts"}: change the injected faults while running (tests and demos).

Injected faults (per POST /v1/credits, drawn from a seeded generator): with
probability failure_rate/2 a 503 before applying, failure_rate/2 a 503 after
applying (the client cannot know which); with probability
timeout_after_apply_rate the credit is applied and the answer withheld for
hang_seconds, longer than a client's timeout. Credits live in SQLite, so a
restart keeps them (idempotency survives the process).
"""

import argparse
import hashlib
import hmac
import json
import random
import re
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_SKEW_SECONDS = 300
MAX_BODY = 64 * 1024
_ACCOUNT = re.compile(r"^[-A-Za-z0-9_.:]{1,64}$")
_KEY = re.compile(r"^[-A-Za-z0-9_.:]{1,160}$")


def signature(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    message = f"{timestamp}\n{method}\n{path}\n{hashlib.sha256(body).hexdigest()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class Core:
    """The core system's state: credits by idempotency key, and the faults to inject."""

    def __init__(self, *, state: str, seed: int, faults: dict) -> None:
        self.db = sqlite3.connect(state, check_same_thread=False, isolation_level=None)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS credits (idempotency_key TEXT PRIMARY KEY, credit_id TEXT NOT NULL, "
            "account_id TEXT NOT NULL, amount_jpy INTEGER NOT NULL, reference TEXT NOT NULL, "
            "body_sha256 TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        self.lock = threading.Lock()
        self.random = random.Random(seed)
        self.faults = {
            "failure_rate": 0.0,
            "timeout_after_apply_rate": 0.0,
            "hang_seconds": 5.0,
            "latency_ms": 0,
            "closed_accounts": [],
        }
        self.faults.update(faults)
        self.requests = 0

    def roll(self) -> float:
        with self.lock:
            return self.random.random()

    def credit_get(self, key: str) -> dict | None:
        with self.lock:
            row = self.db.execute(
                "SELECT credit_id, idempotency_key, account_id, amount_jpy, reference, applied_at, body_sha256 "
                "FROM credits WHERE idempotency_key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        names = ("credit_id", "idempotency_key", "account_id", "amount_jpy", "reference", "applied_at", "body_sha256")
        return {**dict(zip(names, row, strict=True)), "status": "applied"}

    def credit_apply(self, key: str, body: dict, body_sha: str) -> tuple[dict, bool]:
        """(credit, created): one credit per key, ever (the primary key decides under concurrency)."""
        credit_id = f"CR-{uuid.uuid4().hex[:16].upper()}"
        now = datetime.now(UTC).isoformat()
        with self.lock:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO credits VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, credit_id, body["account_id"], body["amount_jpy"], body["reference"], body_sha, now),
            )
            created = cursor.rowcount == 1
        credit = self.credit_get(key)
        assert credit is not None
        return credit, created

    def count(self) -> int:
        with self.lock:
            return self.db.execute("SELECT COUNT(*) FROM credits").fetchone()[0]


class Handler(BaseHTTPRequestHandler):
    server_version = "ExchangeCoreReference/1"
    core: Core
    secret: str
    key_id: str

    def log_message(self, format: str, *args) -> None:  # quiet: tests read stderr only on failure
        pass

    def _send(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, {"error": "too_large"})
            return None
        return self.rfile.read(length) if length else b""

    def _authorised(self, body: bytes) -> bool:
        timestamp = self.headers.get("X-Timestamp", "")
        given = self.headers.get("X-Signature", "")
        if self.headers.get("X-Key-Id") != self.key_id or not timestamp.isdigit():
            self._send(401, {"error": "unauthenticated", "detail": "unknown key id or no timestamp"})
            return False
        if abs(time.time() - int(timestamp)) > MAX_SKEW_SECONDS:
            self._send(401, {"error": "stale_timestamp", "detail": "the timestamp is more than 300 s off"})
            return False
        expected = signature(self.secret, timestamp, self.command, self.path, body)
        if not hmac.compare_digest(expected, given):
            self._send(401, {"error": "bad_signature"})
            return False
        return True

    def do_GET(self) -> None:
        self.core.requests += 1
        if self.path == "/v1/health":
            self._send(200, {"status": "ok", "credits": self.core.count()})
            return
        if not self._authorised(b""):
            return
        match = re.fullmatch(r"/v1/credits/([^/]+)", self.path)
        if not match:
            self._send(404, {"error": "no_such_path"})
            return
        credit = self.core.credit_get(match[1])
        if credit is None:
            self._send(404, {"error": "not_found", "detail": "no credit has this idempotency key"})
        else:
            credit.pop("body_sha256")
            self._send(200, credit)

    def do_POST(self) -> None:
        self.core.requests += 1
        body = self._body()
        if body is None or not self._authorised(body):
            return
        if self.path == "/_admin/faults":
            try:
                changes = json.loads(body)
            except json.JSONDecodeError:
                self._send(400, {"error": "invalid_json"})
                return
            self.core.faults.update({k: v for k, v in changes.items() if k in self.core.faults})
            self._send(200, self.core.faults)
            return
        if self.path != "/v1/credits":
            self._send(404, {"error": "no_such_path"})
            return
        self._credit(body)

    def _credit(self, raw: bytes) -> None:
        faults = self.core.faults
        if faults["latency_ms"]:
            time.sleep(faults["latency_ms"] / 1000)
        key = self.headers.get("Idempotency-Key", "")
        if not _KEY.match(key):
            self._send(400, {"error": "invalid", "detail": "Idempotency-Key header: 1-160 of A-Z a-z 0-9 - _ . :"})
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            self._send(400, {"error": "invalid_json"})
            return
        amount = body.get("amount_jpy") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or not isinstance(amount, int)
            or isinstance(amount, bool)
            or amount <= 0
            or body.get("currency") != "JPY"
            or not _ACCOUNT.match(str(body.get("account_id", "")))
            or not isinstance(body.get("reference"), str)
        ):
            self._send(400, {"error": "invalid", "detail": "account_id, amount_jpy > 0, currency JPY, reference"})
            return
        body_sha = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        existing = self.core.credit_get(key)
        if existing is not None and existing["body_sha256"] != body_sha:
            self._send(409, {"error": "idempotency_key_reused", "detail": "this key was used with another body"})
            return
        if body["account_id"] in faults["closed_accounts"]:
            self._send(422, {"error": "account_closed", "detail": "the account cannot receive credits"})
            return
        roll = self.core.roll()
        failure, hang = float(faults["failure_rate"]), float(faults["timeout_after_apply_rate"])
        if roll < failure / 2:
            self._send(503, {"error": "unavailable", "detail": "injected failure before applying"})
            return
        credit, created = self.core.credit_apply(key, body, body_sha)
        credit.pop("body_sha256")
        if roll < failure:
            self._send(503, {"error": "unavailable", "detail": "injected failure after applying"})
            return
        if roll < failure + hang:
            time.sleep(float(faults["hang_seconds"]))  # applied; the client has given up waiting
        self._send(201 if created else 200, credit)


def serve(
    *, host: str, port: int, secret: str, key_id: str, state: str, seed: int, faults: dict
) -> ThreadingHTTPServer:
    """A server ready to serve_forever() (tests run it in a subprocess; see tests/support)."""
    core = Core(state=state, seed=seed, faults=faults)
    handler = type("BoundHandler", (Handler,), {"core": core, "secret": secret, "key_id": key_id})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--key-id", default="claims")
    parser.add_argument("--state", default=":memory:", help="SQLite file for credits (default: in memory)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--failure-rate", type=float, default=0.0)
    parser.add_argument("--timeout-after-apply-rate", type=float, default=0.0)
    parser.add_argument("--hang-seconds", type=float, default=5.0)
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args(argv)
    server = serve(
        host=args.host,
        port=args.port,
        secret=args.secret,
        key_id=args.key_id,
        state=args.state,
        seed=args.seed,
        faults={
            "failure_rate": args.failure_rate,
            "timeout_after_apply_rate": args.timeout_after_apply_rate,
            "hang_seconds": args.hang_seconds,
            "latency_ms": args.latency_ms,
        },
    )
    print(f"exchange core reference server on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
