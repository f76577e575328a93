"""The OpenAPI schema builds without warnings and lists the claims contract."""

import pytest
from django.core.management import call_command


def test_schema_is_valid_without_warnings(tmp_path):
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = target.read_text()
    for path in (
        "/api/claims/:",
        "/api/claims/{ref}/appeal/:",
        "/api/staff/claims/:",
        "/api/staff/claims/{ref}/decision/:",
        "/api/staff/claims/bulk-approve/:",
    ):
        assert path in schema


@pytest.mark.django_db
def test_schema_is_served(api_as):
    from core.roles import Role

    response = api_as(Role.REVIEWER).get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/claims/" in response.content
