"""The API docs work on a closed network: Swagger UI and ReDoc come from the app, with the sign-in steps written out."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db

EXTERNAL = re.compile(r"""(src|href)=["']https?://""")


def _assets(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", html)


@pytest.mark.parametrize(("path", "bundle"), [("/api/docs/", "swagger-ui-bundle.js"), ("/api/redoc/", "redoc")])
def test_the_docs_pages_load_everything_from_the_app(client, path, bundle):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert not EXTERNAL.search(html), "nothing from a CDN or a font service"
    assert "<style" not in html and not re.search(r"<script>(?!</script>)", html), "no inline style or script"
    assets = _assets(html)
    assert any(bundle in asset for asset in assets)
    for asset in assets:  # each one is a static file the app has
        assert finders.find(asset.removeprefix("/static/")), asset


def test_the_swagger_start_up_script_is_a_url_of_its_own_pointing_at_the_schema(client):
    html = client.get("/api/docs/").content.decode()
    script = re.search(r'<script src="(/api/docs/\?[^"]*)"', html).group(1).replace("&amp;", "&")
    response = client.get(script)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in response.content.decode()


def test_the_schema_describes_how_to_sign_in(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    description = schema["info"]["description"]
    for step in ("POST /api/auth/token/", "Authorization: Token <token>", "otp_token", "Authorize", "X-CSRFToken"):
        assert step in description
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
