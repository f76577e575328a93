"""Following a claim: my list, detail with timeline, evidence, payout changes, answers, appeals, privacy."""

from pathlib import Path

import pytest

from audit.models import Event
from claims import services
from claims.models import Claim, Customer, Evidence, PayoutChoice
from core.roles import Role
from core.storage import file_store
from tests.support.factories import BANK_PAYOUT, PASSWORD, PNG_BYTES, claim_file, customer_user, upload
from tests.support.login import staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def sato(incident):
    customer = Customer.objects.get(account_id="ACC-1")
    customer_user(customer)
    return customer


@pytest.fixture
def suzuki(incident):
    customer = Customer.objects.get(account_id="ACC-2")
    customer_user(customer)
    return customer


@pytest.fixture
def claim(sato, incident):
    return claim_file(sato, incident)


def test_my_claims_lists_only_mine(api_as, claim, suzuki, incident):
    other = claim_file(suzuki, incident)
    refs = [c["ref"] for c in api_as(claim.customer.user).get("/api/claims/").json()]
    assert refs == [claim.ref]
    assert other.ref not in refs


def test_another_customers_claim_is_404_everywhere(api_as, claim, suzuki):
    client = api_as(suzuki.user)
    assert client.get(f"/api/claims/{claim.ref}/").status_code == 404
    assert client.post(f"/api/claims/{claim.ref}/appeal/", {"reason": "x"}).status_code == 404
    assert client.post(f"/api/claims/{claim.ref}/appeal/", {}).status_code == 404  # not a 400 about the body
    assert client.put(f"/api/claims/{claim.ref}/payout/", BANK_PAYOUT, format="json").status_code == 404
    response = client.post(f"/api/claims/{claim.ref}/evidence/", {"files": [upload()]}, format="multipart")
    assert response.status_code == 404
    assert not Evidence.objects.exists()


def test_detail_shows_the_timeline_with_reasons(api_as, claim):
    reviewer = staff(Role.REVIEWER)
    services.claim_info_request(actor=reviewer, claim=claim, message="Please send your deposit statement.")
    body = api_as(claim.customer.user).get(f"/api/claims/{claim.ref}/").json()

    assert [entry["status"] for entry in body["timeline"]] == ["submitted", "info_requested"]
    assert body["timeline"][1]["note"] == "Please send your deposit statement."
    assert body["timeline"][1]["at"]


def test_evidence_is_checked_by_content_and_served_to_owner_and_staff(api_as, claim, suzuki):
    owner = api_as(claim.customer.user)
    response = owner.post(
        f"/api/claims/{claim.ref}/evidence/",
        {"files": [upload("scan.png", PNG_BYTES, "image/png"), upload()]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert [e["content_type"] for e in response.json()] == ["image/png", "application/pdf"]
    item = Evidence.objects.get(file_name="statement.pdf")
    assert response.json()[1]["url"] == f"/api/claims/{claim.ref}/evidence/{item.pk}/"

    download = owner.get(response.json()[1]["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    assert download["Content-Type"] == "application/pdf"
    assert api_as(staff(Role.REVIEWER)).get(f"/api/claims/{claim.ref}/evidence/{item.pk}/").status_code == 200
    assert api_as(suzuki.user).get(f"/api/claims/{claim.ref}/evidence/{item.pk}/").status_code == 404


def test_a_renamed_executable_is_refused(api_as, claim):
    response = api_as(claim.customer.user).post(
        f"/api/claims/{claim.ref}/evidence/",
        {"files": [upload("invoice.pdf", b"MZ\x90\x00 this is not a pdf", "application/pdf")]},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "file_type"
    assert not Evidence.objects.exists()


def test_a_bad_file_among_good_ones_leaves_nothing(api_as, claim, settings):
    folder = Path(file_store().path(f"evidence/{claim.pk}"))
    before = set(folder.glob("*"))
    response = api_as(claim.customer.user).post(
        f"/api/claims/{claim.ref}/evidence/",
        {"files": [upload(), upload("x.gif", b"GIF89a....", "image/gif")]},
        format="multipart",
    )
    assert response.status_code == 400
    assert not Evidence.objects.exists()
    assert set(folder.glob("*")) == before


def test_more_than_ten_files_is_refused(api_as, claim):
    client = api_as(claim.customer.user)
    assert (
        client.post(
            f"/api/claims/{claim.ref}/evidence/", {"files": [upload() for _ in range(9)]}, format="multipart"
        ).status_code
        == 201
    )
    response = client.post(f"/api/claims/{claim.ref}/evidence/", {"files": [upload(), upload()]}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"] == "too_many_files"
    assert Evidence.objects.filter(claim=claim).count() == 9


def test_files_over_ten_megabytes_are_refused(api_as, claim):
    big = upload("big.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024))
    response = api_as(claim.customer.user).post(f"/api/claims/{claim.ref}/evidence/", {"files": [big]})
    assert response.status_code == 400
    assert response.json()["error"] == "file_too_large"
    assert not Evidence.objects.exists()


def test_evidence_is_stored_outside_the_web_root(claim, settings):
    services.claim_evidence_add(customer=claim.customer, claim=claim, files=[upload()])
    item = Evidence.objects.get()
    path = Path(file_store().path(item.storage_path))
    assert path.read_bytes().startswith(b"%PDF-")
    assert str(settings.BASE_DIR / "static") not in str(path)


def test_payout_can_change_until_approved_and_is_masked(api_as, claim):
    client = api_as(claim.customer.user)
    response = client.put(
        f"/api/claims/{claim.ref}/payout/",
        {**BANK_PAYOUT, "account_number": "7654321", "holder_name": "すずき ゆい", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["payout"]["account_number"] == "****321"
    assert response.json()["payout"]["holder_name_kana"] == "ｽｽﾞｷ ﾕｲ"
    assert PayoutChoice.objects.get(claim=claim).account_number == "7654321"
    event = Event.objects.filter(action="claim.payout_changed").get()
    assert "7654321" not in str(event.data)


def test_payout_is_locked_once_approved(api_as, claim):
    reviewer, approver = staff(Role.REVIEWER), staff(Role.APPROVER)
    services.claim_recommend(actor=reviewer, claim=claim)
    services.claim_approve(actor=approver, claim=claim)

    response = api_as(claim.customer.user).put(
        f"/api/claims/{claim.ref}/payout/", {**BANK_PAYOUT, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 422
    assert response.json()["error"] == "payout_locked"


def test_customer_answers_an_information_request_by_editing_a_line(api_as, claim):
    services.claim_info_request(actor=staff(Role.REVIEWER), claim=claim, message="Which BTC amount is right?")
    response = api_as(claim.customer.user).post(
        f"/api/claims/{claim.ref}/respond/",
        {
            "lines": [{"asset": "BTC", "claimed_quantity": "0.3", "reason": "deposit of 0.05 BTC at 09:59"}],
            "message": "See the deposit.",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "under_review"
    btc = next(line for line in body["lines"] if line["asset"] == "BTC")
    assert btc["claimed_quantity"].startswith("0.3")
    assert body["disputed"] is True
    assert body["timeline"][-1]["note"] == "See the deposit."


def test_answer_without_a_request_is_refused(api_as, claim):
    response = api_as(claim.customer.user).post(f"/api/claims/{claim.ref}/respond/", {"message": "hi"}, format="json")
    assert response.status_code == 422


def test_appeal_after_rejection_once(api_as, claim):
    first_reviewer = staff(Role.REVIEWER)
    fresh_reviewer = staff(Role.REVIEWER)
    services.claim_reject(actor=first_reviewer, claim=claim, reason="The account was closed before the breach.")
    client = api_as(claim.customer.user)

    detail = client.get(f"/api/claims/{claim.ref}/").json()
    assert detail["appealable"] is True
    assert detail["timeline"][-1]["note"] == "The account was closed before the breach."

    response = client.post(f"/api/claims/{claim.ref}/appeal/", {"reason": "It was open; see statement."})
    assert response.status_code == 200
    assert response.json()["status"] == "appealed"
    claim.refresh_from_db()
    assert claim.assigned_reviewer == fresh_reviewer

    again = client.post(f"/api/claims/{claim.ref}/appeal/", {"reason": "again"})
    assert again.status_code == 409
    assert again.json()["error"] == "already_appealed"


def test_appeal_of_a_submitted_claim_is_refused(api_as, claim):
    response = api_as(claim.customer.user).post(f"/api/claims/{claim.ref}/appeal/", {"reason": "why not"})
    assert response.status_code == 422
    assert response.json()["error"] == "not_appealable"


def test_rejected_customer_may_file_again(claim, incident):
    services.claim_reject(actor=staff(Role.REVIEWER), claim=claim, reason="missing KYC")
    again = claim_file(claim.customer, incident)
    assert again.pk != claim.pk
    assert Claim.objects.filter(customer=claim.customer).count() == 2


def test_answering_about_one_line_keeps_the_other_disputed_line(api_as, incident, sato):
    from decimal import Decimal

    claim = claim_file(sato, incident, [services.ClaimLineInput("XEM", Decimal("999"), "not my withdrawal")])
    services.claim_info_request(actor=staff(Role.REVIEWER), claim=claim, message="And BTC?")
    api_as(sato.user).post(
        f"/api/claims/{claim.ref}/respond/",
        {"lines": [{"asset": "BTC", "claimed_quantity": "0.3", "reason": "deposit"}]},
        format="json",
    )
    quantities = dict(claim.lines.values_list("asset__symbol", "claimed_quantity"))
    assert quantities == {"BTC": Decimal("0.3"), "XEM": Decimal("999")}
