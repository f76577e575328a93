"""The users `bench web` sends at the site (run by the `locust` command, never imported by Django).

The bench names the user classes of each phase on locust's command line: `SurgeCustomer`
(customers log in, read their holdings and file; no think time), `PageCustomer` and
`PageRegulator` (reading pages, with think time), `SummaryRegulator` (regulators reading
the incident summary, no think time). Configured by the environment `benchmarks/web.py` sets:

- BENCH_WEB_INCIDENT, BENCH_WEB_USERNAME (a pattern with `{i}`), BENCH_WEB_PASSWORD,
  BENCH_WEB_FIRST / BENCH_WEB_COUNT (which prepared customers this run may use, each once
  in a surge), BENCH_WEB_REGULATOR, BENCH_WEB_WAIT (seconds of think time in `pages`).

A surge stops by itself when every prepared customer of its range has filed (bounded in
count as well as by locust's --run-time).
"""

import itertools
import os
import re
import uuid

from locust import between, constant, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

INCIDENT = os.environ.get("BENCH_WEB_INCIDENT", "")
USERNAME = os.environ.get("BENCH_WEB_USERNAME", "{i}")
PASSWORD = os.environ.get("BENCH_WEB_PASSWORD", "")
FIRST = int(os.environ.get("BENCH_WEB_FIRST", "0"))
COUNT = int(os.environ.get("BENCH_WEB_COUNT", "0"))
REGULATOR = os.environ.get("BENCH_WEB_REGULATOR", "")
WAIT = float(os.environ.get("BENCH_WEB_WAIT", "1.0"))
PAYOUT = {
    "method": "bank",
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "1",
    "account_number": "1234567",
    "holder_name": "ベンチ タロウ",
}
_next_customer = itertools.count(FIRST)
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _customer() -> str | None:
    """The next prepared customer's username, or None when this run's range is used up."""
    i = next(_next_customer)
    return USERNAME.format(i=i) if i < FIRST + COUNT else None


def _session_login(user: FastHttpUser, username: str) -> None:
    """Sign in through the login page (a session cookie), as a browser would."""
    page = user.client.get("/login/", name="GET /login/")
    match = _CSRF.search(page.text or "")
    token = match.group(1) if match else ""
    user.client.post(
        "/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{user.host}/login/"},
        name="POST /login/",
        allow_redirects=False,
    )


class SurgeCustomer(FastHttpUser):
    """Launch day: sign in (a token), read the holdings, file accepting the snapshot; then the next customer."""

    wait_time = constant(0)

    @task
    def file_claim(self) -> None:
        username = _customer()
        if username is None:
            self.environment.runner.quit()
            raise StopUser()
        with self.client.post(
            "/api/auth/token/",
            json={"username": username, "password": PASSWORD},
            name="POST /api/auth/token/",
            catch_response=True,
        ) as login:
            if login.status_code != 200:
                login.failure(f"login {login.status_code}")
                return
            token = login.json()["token"]
        auth = {"Authorization": f"Token {token}"}
        self.client.get(
            f"/api/incidents/{INCIDENT}/holdings/", headers=auth, name="GET /api/incidents/[code]/holdings/"
        )
        with self.client.post(
            "/api/claims/",
            json={"incident": INCIDENT, "payout": PAYOUT},
            headers={**auth, "Idempotency-Key": uuid.uuid4().hex},
            name="POST /api/claims/",
            catch_response=True,
        ) as filed:
            if filed.status_code != 201:
                filed.failure(f"filing {filed.status_code}: {(filed.text or '')[:200]}")


class PageCustomer(FastHttpUser):
    """A customer who has filed, looking at the portal: home, the incident's holdings, the claim list."""

    wait_time = between(WAIT / 2, WAIT * 1.5)

    def on_start(self) -> None:
        username = _customer()
        if username is None:
            raise StopUser()
        _session_login(self, username)

    @task
    def home(self) -> None:
        self.client.get("/claims/", name="page GET /claims/")

    @task
    def incident(self) -> None:
        self.client.get(f"/claims/incidents/{INCIDENT}/", name="page GET /claims/incidents/[code]/")

    @task
    def claims_api(self) -> None:
        self.client.get("/api/claims/", name="page GET /api/claims/")


class PageRegulator(FastHttpUser):
    """A regulator reading the portal: the incidents, an incident's summary page and its API figures."""

    wait_time = between(WAIT / 2, WAIT * 1.5)

    def on_start(self) -> None:
        _session_login(self, REGULATOR)

    @task
    def incidents(self) -> None:
        self.client.get("/regulator/incidents/", name="page GET /regulator/incidents/")

    @task
    def incident(self) -> None:
        self.client.get(f"/regulator/incidents/{INCIDENT}/", name="page GET /regulator/incidents/[code]/")

    @task
    def summary_api(self) -> None:
        self.client.get(
            f"/api/regulator/incidents/{INCIDENT}/summary/", name="page GET /api/regulator/incidents/[code]/summary/"
        )


class SummaryRegulator(FastHttpUser):
    """Many regulators at once on the incident summary, no think time: do audited reads queue behind each other?"""

    wait_time = constant(0)

    def on_start(self) -> None:
        _session_login(self, REGULATOR)

    @task
    def summary_api(self) -> None:
        self.client.get(
            f"/api/regulator/incidents/{INCIDENT}/summary/", name="GET /api/regulator/incidents/[code]/summary/"
        )
