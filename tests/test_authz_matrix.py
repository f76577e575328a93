"""The authorisation matrix: every URL pattern of the project, for every role, against tests/authz_matrix.csv.

The URLs come from the resolver (tests/support/urls.py), so a new URL without a row in the table
fails this test, and its message prints the row to add (with what each role got: check it, then
paste it). One row per URL name (`namespace:name`; the route for an unnamed pattern; `*` globs),
the method the row is checked with, then one outcome per role:

    ok     served: 2xx, a redirect elsewhere, or a 4xx about the request (400, 409, 413, 415, 422)
    login  sent to sign in: a redirect to a login page, 401, or 403 not_authenticated/authentication_failed
    2fa    sent to the second factor: a redirect to /account/two-factor/ or 403 second_factor_required
    deny   403 for the role
    404    not found (another customer's claim, or a sample id that does not exist)

Run alone: `pytest tests/test_authz_matrix.py` (docs/security.md).
"""

import csv
import fnmatch
from pathlib import Path

import pytest
from django.test import Client

from claims.models import Customer
from core.roles import Role
from tests.support.factories import claim_file, customer_user, incident_with_snapshot, user_with_role
from tests.support.login import login_verified, otp_device, staff
from tests.support.urls import Url, project_urls

pytestmark = pytest.mark.django_db

TABLE = Path(__file__).with_name("authz_matrix.csv")
ROLES = ("anonymous", "customer", "other_customer", "reviewer", "approver_no_2fa", "approver", "admin", "regulator")
OUTCOMES = {"ok", "login", "2fa", "deny", "404"}
# 405 is not among them: a row's method must be one the URL answers.
SERVED = {400, 409, 413, 415, 422}


def _table() -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    with TABLE.open(newline="") as f:
        for row in csv.DictReader(line for line in f if line.strip() and not line.startswith("#")):
            assert row["url"] not in rows, f"{TABLE.name}: {row['url']} has two rows"
            bad = {role: row[role] for role in ROLES if row[role] not in OUTCOMES}
            assert not bad, f"{TABLE.name}: {row['url']}: outcomes must be one of {sorted(OUTCOMES)}, not {bad}"
            rows[row["url"]] = row
    return rows


def _row_for(url: Url, rows: dict[str, dict[str, str]]) -> dict[str, str] | None:
    if url.name in rows:
        return rows[url.name]
    return next((row for key, row in rows.items() if "*" in key and fnmatch.fnmatchcase(url.name, key)), None)


def _outcome(response) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        location = response["Location"]
        if location.startswith("/account/two-factor/"):
            return "2fa"
        if location.startswith(("/login/", "/admin/login/")):
            return "login"
        return "ok"
    error = ""
    if response.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        error = body.get("error", "") if isinstance(body, dict) else ""
    if status == 401 or (status == 403 and error in ("not_authenticated", "authentication_failed")):
        return "login"
    if status == 403:
        return "2fa" if error == "second_factor_required" else "deny"
    if status == 404:
        return "404"
    if status < 300 or status in SERVED:
        return "ok"
    return f"HTTP {status}"


class Roles:
    """One signed-in test client per role, signed in again if a URL (logout) ended its session."""

    def __init__(self) -> None:
        incident = incident_with_snapshot()
        sato = Customer.objects.get(account_id="ACC-1")
        customer = customer_user(sato)
        self.claim = claim_file(sato, incident)
        admin = staff(Role.ADMIN)
        admin.is_staff = admin.is_superuser = True
        admin.save()
        self.values = {
            "ref": self.claim.ref,
            "code": incident.code,
            "symbol": "BTC",
            "member_id": str(admin.staff_account.member_id),  # the admin's own staff member
            "pk": str(otp_device(admin).pk),  # the admin's TOTP device (django-otp's admin pages)
        }
        self.users = {
            "anonymous": None,
            "customer": customer,
            "other_customer": customer_user(Customer.objects.get(account_id="ACC-2")),
            "reviewer": staff(Role.REVIEWER),
            "approver_no_2fa": user_with_role(Role.APPROVER),
            "approver": staff(Role.APPROVER),
            "admin": admin,
            "regulator": user_with_role(Role.REGULATOR),
        }
        self.clients = {role: Client(raise_request_exception=False) for role in ROLES}

    def client(self, role: str) -> Client:
        client, user = self.clients[role], self.users[role]
        if user is not None and "_auth_user_id" not in client.session:
            if role in ("reviewer", "approver", "admin"):
                login_verified(client, user)
            else:
                client.force_login(user)
        return client

    def request(self, role: str, method: str, path: str):
        client = self.client(role)
        if method == "GET":
            return client.get(path)
        if path.startswith("/api/"):
            return client.generic(method, path, "{}", content_type="application/json")
        return client.generic(method, path, "", content_type="application/x-www-form-urlencoded")


def _outcomes(roles: Roles, method: str, path: str) -> dict[str, str]:
    return {role: _outcome(roles.request(role, method, path)) for role in ROLES}


def _suggestion(roles: Roles, path: str) -> tuple[str, dict[str, str]]:
    """GET, or the first write method no role is refused with 405; and what each role got with it."""
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        got = _outcomes(roles, method, path)
        if "HTTP 405" not in got.values():
            return method, got
    return "GET", _outcomes(roles, "GET", path)


def _check(urls: list[Url]) -> None:
    rows = _table()
    roles = Roles()
    missing, wrong = [], []
    for url in urls:
        row = _row_for(url, rows)
        path = url.path(**roles.values)
        if row is None:
            method, got = _suggestion(roles, path)
            missing.append(",".join([url.name, method, *(got[r] for r in ROLES)]))
            continue
        method = row["method"]
        got = _outcomes(roles, method, path)
        diff = {role: f"expected {row[role]}, got {got[role]}" for role in ROLES if got[role] != row[role]}
        if diff:
            wrong.append(f"{method} {path} ({url.name}): {diff}")
    message = []
    if missing:
        message.append(
            f"{len(missing)} URL(s) without a row in tests/{TABLE.name}. Check what each role got and add:\n"
            + "\n".join(missing)
        )
    if wrong:
        message.append(f"{len(wrong)} URL(s) answer otherwise than the table says:\n" + "\n".join(wrong))
    assert not message, "\n\n".join(message)


def _is_admin(url: Url) -> bool:
    return url.name.startswith(("admin:", "admin/"))


def test_every_url_of_the_site_and_api_answers_each_role_as_the_table_says():
    _check([url for url in project_urls() if not _is_admin(url)])


def test_every_django_admin_url_answers_each_role_as_the_table_says():
    _check([url for url in project_urls() if _is_admin(url)])


def test_the_table_has_no_row_for_a_url_that_is_gone():
    names = [url.name for url in project_urls()]
    stale = [key for key in _table() if not any(fnmatch.fnmatchcase(name, key) for name in names)]
    assert not stale, f"Rows in tests/{TABLE.name} for URLs that no longer exist; remove them: {stale}"


def test_the_boundaries_hold_in_the_table():
    """Whatever rows are added: anonymous callers never get a privileged URL; regulators stay in their portal."""
    rows = _table()
    for name, row in rows.items():
        staff_url = ":staff-" in name or ":api-staff-" in name or "staff" in name.split(":")[-1]
        if staff_url:
            assert row["regulator"] != "ok", f"{name}: a staff URL serves regulators"
            assert row["customer"] != "ok", f"{name}: a staff URL serves customers"
            assert row["approver_no_2fa"] in ("2fa", "deny"), f"{name}: a staff URL serves an unverified approver"
