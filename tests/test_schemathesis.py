"""Schemathesis against the live test server, once per role: no 5xx, no undocumented status, no response off its schema.

The schema is the one the server serves (/api/schema/); schemathesis (its Python API, pinned in
requirements-dev.txt) generates requests for every operation, valid ones and invalid ones, and sends them over
real HTTP to pytest-django's live server with the role's token. Bounded: SCHEMATHESIS_EXAMPLES examples per
operation (default 5, valid and invalid requests mixed, with the path parameters of rows that exist
in a third of them) and no shrinking, derandomized so a run is repeatable; all five roles take about two
minutes on a loaded 2-core machine. Run it alone:

    DATABASE_URL=... REDIS_URL=... .venv/bin/pytest tests/test_schemathesis.py -q
    SCHEMATHESIS_EXAMPLES=50 .venv/bin/pytest tests/test_schemathesis.py -q   # a longer hunt
"""

import os
import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from claims.models import Customer
from core.roles import Role
from tests.support.factories import PASSWORD, claim_file, customer_user, incident_with_snapshot, user_with_role
from tests.support.login import otp_code, otp_device

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ROLES = ["anonymous", Role.CUSTOMER, Role.REVIEWER, Role.APPROVER, Role.REGULATOR]


def _token(base_url: str, role: Role) -> str:
    """A token as a client gets one: POST /api/auth/token/ with the password and, for staff, a TOTP code."""
    user = customer_user(Customer.objects.get(account_id="ACC-1")) if role is Role.CUSTOMER else user_with_role(role)
    body = {"username": user.username, "password": PASSWORD}
    if role in (Role.REVIEWER, Role.APPROVER):
        body["otp_token"] = otp_code(otp_device(user))
    response = requests.post(f"{base_url}/api/auth/token/", json=body, timeout=30)
    if response.status_code != 200:  # a role whose tokens the API does not hand out
        return Token.objects.get_or_create(user=user)[0].key
    return response.json()["token"]


def _known_parameters(incident, claim) -> dict[str, str]:
    """Path parameters of objects that exist, so generated requests also reach real rows, not only 404."""
    return {"code": incident.code, "ref": claim.ref, "symbol": "BTC"}


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_the_api_keeps_its_schema(live_server, role):
    incident = incident_with_snapshot()
    claim = claim_file(Customer.objects.get(account_id="ACC-2"), incident)
    headers = {} if role == "anonymous" else {"Authorization": f"Token {_token(live_server.url, role)}"}
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json", headers=headers)
    known = _known_parameters(incident, claim)
    session = requests.Session()
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        names = set(re.findall(r"{(\w+)}", operation.path))
        fixed = {name: value for name, value in known.items() if name in names}
        strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
        if fixed:
            strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=fixed))

        @given(case=st.one_of(strategies))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case) -> None:
            case.call_and_validate(base_url=live_server.url, session=session, headers=headers, checks=CHECKS)

        try:
            call()
        except Exception as exc:  # collect every operation's first failure, then report them together
            failures[operation.label] = str(exc)[:3000]
    session.close()
    assert operations > 40
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
