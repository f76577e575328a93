"""The regulator portal: read-only, admins create its accounts, and every view is itself audited."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from audit.models import Event
from core.roles import Role, has_role
from tests.support.audit import record
from tests.support.factories import PASSWORD, user_with_role
from tests.support.login import login_verified, staff

pytestmark = pytest.mark.django_db

PAGES = ["/regulator/", "/regulator/audit/", "/regulator/audit/checkpoints/"]
APIS = ["/api/regulator/audit/", "/api/regulator/audit/verify/", "/api/regulator/audit/checkpoints/"]


def login(client, role: Role):
    """Log in with the role; approvers and admins also pass their second factor."""
    if role in (Role.REVIEWER, Role.APPROVER, Role.ADMIN):
        user = staff(role)
        login_verified(client, user)
        return user
    user = user_with_role(role)
    client.login(username=user.username, password=PASSWORD)
    return user


def viewed(user) -> list[Event]:
    return list(Event.objects.filter(action="regulator.viewed", actor=user.username).order_by("seq"))


@pytest.mark.parametrize("path", PAGES)
def test_regulator_and_admin_read_pages_others_cannot(client, path):
    record(2)
    for role, expected in [(Role.REGULATOR, 200), (Role.ADMIN, 200), (Role.APPROVER, 403), (Role.CUSTOMER, 403)]:
        login(client, role)
        assert client.get(path).status_code == expected, role
        client.logout()
    assert client.get(path).status_code == 302


@pytest.mark.parametrize("path", PAGES)
def test_any_write_to_a_regulator_page_is_403(client, path):
    login(client, Role.REGULATOR)
    assert client.post(path, {}).status_code == 403


@pytest.mark.parametrize("path", APIS)
def test_any_write_to_the_regulator_api_is_403(api_as, path):
    for method in ("post", "put", "patch", "delete"):
        response = getattr(api_as(Role.REGULATOR), method)(path, {}, format="json")
        assert response.status_code == 403, (method, path)
        assert response.json()["error"] == "permission_denied"


@pytest.mark.parametrize("path", PAGES + APIS)
def test_every_regulator_view_is_itself_audited(client, path):
    user = login(client, Role.REGULATOR)

    response = client.get(path + "?actor=someone")

    events = viewed(user)
    assert len(events) == 1
    event = events[0]
    assert event.role == "regulator"
    assert event.actor_id == user.pk
    assert event.data == {"method": "GET", "path": path, "query": "actor=someone", "status": response.status_code}
    assert event.request_id == response["X-Request-ID"]


def test_token_api_views_and_denied_attempts_are_audited_too(api):
    from rest_framework.authtoken.models import Token

    user = user_with_role(Role.REGULATOR)
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    assert api.get("/api/regulator/audit/").status_code == 200
    assert api.post("/api/regulator/audit/", {}).status_code == 403

    assert [(e.data["method"], e.data["status"]) for e in viewed(user)] == [("GET", 200), ("POST", 403)]


def test_a_regulators_read_anywhere_is_logged_anonymous_requests_are_not(client):
    """Decided by the role, not the path: a public page read by a regulator is in the trail too."""
    user = login(client, Role.REGULATOR)
    client.get("/verify/")
    assert [e.data["path"] for e in viewed(user)] == ["/verify/"]
    client.logout()
    client.get("/regulator/")
    client.get("/verify/")
    assert Event.objects.filter(action="regulator.viewed").count() == 1


def test_landing_page_shows_integrity_and_the_events_chart(client):
    record(3)
    login(client, Role.REGULATOR)
    client.get("/api/regulator/audit/verify/")

    html = client.get("/regulator/").content.decode()

    assert "改ざんなしを確認" in html  # "Verified intact", in Japanese
    assert '<svg class="chart" data-chart="bar"' in html
    assert html.count('class="bar"') == 30


# --- regulator accounts ---------------------------------------------------------------

NEW = {"username": "fsa-inspector", "email": "inspector@fsa.example.jp", "password": "long-enough-secret-42"}


def test_admin_creates_a_regulator_through_the_api(api_as):
    admin = api_as(Role.ADMIN)

    response = admin.post("/api/staff/regulators/", NEW, format="json")

    assert response.status_code == 201
    assert response.json()["username"] == "fsa-inspector"
    assert "password" not in response.json()
    user = get_user_model().objects.get(username="fsa-inspector")
    assert has_role(user, Role.REGULATOR)
    assert user.check_password(NEW["password"])
    event = Event.objects.get(action="regulator.account_created")
    assert (event.actor, event.subject_id) == (admin.user.username, str(user.pk))
    assert [r["username"] for r in admin.get("/api/staff/regulators/").json()["results"]] == ["fsa-inspector"]


@pytest.mark.parametrize("role", [Role.REGULATOR, Role.APPROVER, Role.REVIEWER, Role.CUSTOMER])
def test_only_admins_create_regulators(api_as, role):
    response = api_as(role).post("/api/staff/regulators/", NEW, format="json")
    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="fsa-inspector").exists()


def test_service_refuses_a_non_admin_user_too():
    from audit.services import regulator_create
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError) as caught:
        regulator_create(actor=user_with_role(Role.APPROVER), **NEW)
    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [({"password": "short"}, "password"), ({"password": "password123456"}, "password"), ({"email": "x"}, "email")],
)
def test_bad_regulator_input_is_400_and_creates_nothing(api_as, change, field):
    response = api_as(Role.ADMIN).post("/api/staff/regulators/", NEW | change, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not get_user_model().objects.filter(username="fsa-inspector").exists()
    assert not Event.objects.filter(action="regulator.account_created").exists()


def test_taken_username_is_409(api_as):
    admin = api_as(Role.ADMIN)
    assert admin.post("/api/staff/regulators/", NEW, format="json").status_code == 201
    response = admin.post("/api/staff/regulators/", NEW | {"username": "FSA-Inspector"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == "username_taken"


def test_admin_page_creates_a_regulator_and_others_get_403(client):
    login(client, Role.APPROVER)
    assert client.get("/staff/regulators/").status_code == 403
    client.logout()
    login(client, Role.ADMIN)

    response = client.post("/staff/regulators/", NEW, follow=True)

    assert response.status_code == 200
    assert "fsa-inspector" in response.content.decode()
    assert has_role(get_user_model().objects.get(username="fsa-inspector"), Role.REGULATOR)
    bad = client.post("/staff/regulators/", NEW | {"username": "other", "password": "short"})
    assert bad.status_code == 200
    assert not get_user_model().objects.filter(username="other").exists()


def test_command_creates_a_regulator_with_a_generated_password():
    out = io.StringIO()
    call_command("regulator_create", "fsa-2", "--email", "two@fsa.example.jp", stdout=out)
    password = out.getvalue().split("shown once): ")[1].strip()
    user = get_user_model().objects.get(username="fsa-2")
    assert user.check_password(password)
    assert has_role(user, Role.REGULATOR)
    assert Event.objects.get(action="regulator.account_created").actor == "command:regulator_create"
    with translation.override("en"), pytest.raises(CommandError, match="taken"):
        call_command("regulator_create", "fsa-2", "--email", "two@fsa.example.jp", stdout=io.StringIO())


def test_regulator_lands_on_the_portal_after_login(client):
    login(client, Role.REGULATOR)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/regulator/"


def test_the_portal_shows_tree_witnesses_and_consistency_in_japanese_and_english(client):
    import time

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit import tlog
    from audit.checkpoints import checkpoint_create, cosignatures_add, witness_add
    from audit.services import Actor
    from audit.verification import verification_run
    from tests.support.audit import record

    key = Ed25519PrivateKey.generate()
    witness = tlog.Verifier("fsa.example/witness", tlog.SIG_COSIGNATURE_V1, key.public_key())
    witness_add(actor=Actor.system("tests"), vkey=witness.vkey())
    record(2)
    first = checkpoint_create()
    record(2)
    second = checkpoint_create()
    for checkpoint in (first, second):
        text = tlog.note_parse(checkpoint.note).text
        cosignatures_add(note=checkpoint.note + tlog.cosign(text, witness.name, key, int(time.time())).line())
    verification_run(requested_by=None)
    user = user_with_role(Role.REGULATOR)
    client.login(username=user.username, password=PASSWORD)

    japanese = client.get("/regulator/").content.decode()
    assert "監査ログの完全性" in japanese and "立会人" in japanese and "最新の整合性検査" in japanese
    client.post("/i18n/setlang/", {"language": "en", "next": "/regulator/"})
    from audit.log.append import tree_head

    size, root = tree_head()  # the page is drawn before its own visit is logged
    english = client.get("/regulator/").content.decode()
    assert f'data-testid="tree-size">{size}<' in english
    assert f'data-testid="tree-root">{root}<' in english
    assert f"witness fsa.example/witness checked size {first.size} → {second.size} and cosigned" in english
    assert f"checkpoints of size {first.size} → {second.size}, checked by this server" in english
    assert "<code>fsa.example/witness</code>" in english
