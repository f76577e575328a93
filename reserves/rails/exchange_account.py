"""The exchange-account rail: credits posted to the exchange's core system over signed HTTP (docs/rails.md).

How Coincheck paid its customers: the compensation is credited to the
customer's own account at the exchange. Each credit is one request carrying
the payout's idempotency key, signed with HMAC-SHA256 over a timestamp, the
method, the path and the body's hash, so the core system can refuse forgeries
and replays.

Outcomes:
- 2xx: applied, the payout is paid (the core's credit id is its reference);
- 422 account_closed / account_frozen / no_such_account: the customer's account
  cannot receive; the payout is returned and the customer asked for other details;
- other 4xx (400, 409, 422): the core refuses for good: the payout is failed, staff decide;
  401/403/429 are ours to fix or to wait for: retried;
- 5xx, a timeout or a broken connection: the outcome is unknown. The rail
  asks the core about that key (GET /v1/credits/<key>) before anything
  else: found means paid, 404 means not applied and safe to retry. A retry
  (the next attempt) asks again first, so a credit applied while we could
  not hear the answer is never posted twice; the core's own idempotency
  on the key is the second line of defence.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from reserves.rails import Instruction, RailResult

logger = logging.getLogger(__name__)
RETRYABLE_4XX = {401, 403, 408, 425, 429}
# 422 errors meaning the customer's account cannot receive: the payout is returned, the customer asked.
CANNOT_RECEIVE = {"account_closed", "account_frozen", "no_such_account"}


@dataclass(frozen=True)
class Reply:
    status: int  # 0: no answer (timeout, connection refused or reset)
    body: dict
    error: str = ""


def sign(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of "<timestamp>\\n<METHOD>\\n<path>\\n<hex SHA-256 of body>" (docs/rails.md)."""
    message = f"{timestamp}\n{method}\n{path}\n{hashlib.sha256(body).hexdigest()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class CoreClient:
    """A small signed-JSON client of the exchange core system."""

    def __init__(self, *, base_url: str, key_id: str, secret: str, timeout: float) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("EXCHANGE_CORE_URL must be an http:// or https:// URL")
        self.base_url = base_url.rstrip("/")
        self.key_id = key_id
        self.secret = secret
        self.timeout = timeout

    def request(self, method: str, path: str, payload: dict | None = None, headers: dict | None = None) -> Reply:
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode() if payload is not None else b""
        timestamp = str(int(time.time()))
        url = self.base_url + path  # http(s) only: checked in __init__
        request = urllib.request.Request(url, data=body if method == "POST" else None, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        request.add_header("X-Key-Id", self.key_id)
        request.add_header("X-Timestamp", timestamp)
        request.add_header("X-Signature", sign(self.secret, timestamp, method, path, body))
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return Reply(response.status, _json(response.read()))
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, _json(exc.read()), error=f"HTTP {exc.code}")
        except TimeoutError as exc:
            return Reply(0, {}, error=f"timeout after {self.timeout:g} s ({exc.__class__.__name__})")
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            return Reply(0, {}, error=f"no answer: {exc}")

    def credit_lookup(self, key: str) -> Reply:
        return self.request("GET", f"/v1/credits/{key}")

    def credit_post(self, *, key: str, account_id: str, amount_jpy: int, reference: str) -> Reply:
        payload = {"account_id": account_id, "amount_jpy": amount_jpy, "currency": "JPY", "reference": reference}
        return self.request("POST", "/v1/credits", payload, headers={"Idempotency-Key": key})

    def health(self) -> Reply:
        return self.request("GET", "/v1/health")


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class ExchangeAccountRail:
    name = "exchange"

    def __init__(self, *, client: CoreClient, parallel: int = 4) -> None:
        self.client = client
        self.parallel = max(1, parallel)

    def send(self, *, instructions: list[Instruction]) -> list[RailResult]:
        if len(instructions) == 1 or self.parallel == 1:
            return [self._one(ins) for ins in instructions]
        with ThreadPoolExecutor(max_workers=min(self.parallel, len(instructions))) as pool:
            return list(pool.map(self._one, instructions))

    def _applied(self, ins: Instruction, reply: Reply) -> RailResult | None:
        """The credit the core holds under this key, if it matches; None when it has none."""
        credit = reply.body
        if credit.get("amount_jpy") != ins.amount_jpy or credit.get("account_id") != ins.payee.get("account_id"):
            return RailResult(ins.payout_id, "rejected", error="exchange: the core holds this key for another credit")
        return RailResult(ins.payout_id, "paid", reference=str(credit.get("credit_id", ""))[:100])

    def _resolve(self, ins: Instruction, cause: str) -> RailResult | None:
        """Ask the core about the key: paid, "not applied" (None), or still unknown (retry)."""
        lookup = self.client.credit_lookup(ins.idempotency_key)
        if lookup.status == 200:
            return self._applied(ins, lookup)
        if lookup.status == 404:
            return None
        return RailResult(
            ins.payout_id,
            "retry",
            error=f"exchange: outcome unknown ({cause}); lookup: {lookup.error or lookup.status}",
        )

    def _one(self, ins: Instruction) -> RailResult:
        if ins.method != "exchange" or not ins.payee.get("account_id"):
            return RailResult(ins.payout_id, "rejected", error="exchange: exchange-account payees only")
        if ins.attempt > 1:
            # An earlier attempt may have been applied without our hearing: ask before posting again.
            known = self._resolve(ins, "earlier attempt")
            if known is not None:
                return known
        reply = self.client.credit_post(
            key=ins.idempotency_key,
            account_id=ins.payee["account_id"],
            amount_jpy=ins.amount_jpy,
            reference=f"{ins.claim_ref}/{ins.payout_id}",
        )
        if 200 <= reply.status < 300:
            return self._applied(ins, reply)
        if reply.status == 422 and reply.body.get("error") in CANNOT_RECEIVE:
            # The customer's exchange account cannot take credits: ask them for other details.
            code = str(reply.body["error"])
            return RailResult(ins.payout_id, "returned", error=f"exchange: {code}", code=code)
        if 400 <= reply.status < 500 and reply.status not in RETRYABLE_4XX:
            code = reply.body.get("error", reply.status)
            return RailResult(ins.payout_id, "rejected", error=f"exchange: refused ({code})"[:500])
        if 400 <= reply.status < 500:
            return RailResult(ins.payout_id, "retry", error=f"exchange: HTTP {reply.status}, try again")
        cause = reply.error or f"HTTP {reply.status}"
        known = self._resolve(ins, cause)
        if known is not None:
            return known
        return RailResult(ins.payout_id, "retry", error=f"exchange: not applied ({cause}), try again"[:500])


def rail_from_settings() -> ExchangeAccountRail:
    from django.conf import settings

    return ExchangeAccountRail(
        client=CoreClient(
            base_url=settings.EXCHANGE_CORE_URL,
            key_id=settings.EXCHANGE_CORE_KEY_ID,
            secret=settings.EXCHANGE_CORE_SECRET,
            timeout=settings.EXCHANGE_CORE_TIMEOUT_SECONDS,
        ),
        parallel=settings.EXCHANGE_CORE_PARALLEL,
    )
