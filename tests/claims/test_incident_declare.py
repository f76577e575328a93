import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import Event
from claims import services
from claims.models import Incident, IncidentAsset
from core.errors import ApplicationError
from core.roles import Role
from tests.support.factories import TEST_ACTOR, incident_declare, incident_with_snapshot

pytestmark = pytest.mark.django_db


def _payload(**overrides: object) -> dict:
    now = timezone.now()
    payload = {
        "code": "cc-2018",
        "title": "NEM hot wallet",
        "occurred_at": (now - dt.timedelta(days=1)).isoformat(),
        "detected_at": now.isoformat(),
        "snapshot_base_time": (now - dt.timedelta(days=1, hours=1)).isoformat(),
        "claim_opens_at": now.isoformat(),
        "claim_closes_at": (now + dt.timedelta(days=60)).isoformat(),
        "assets": [
            {
                "symbol": "XEM",
                "quantity_lost": "523000000",
                "wallet_type": "hot",
                "reference_price_jpy": "88.549",
                "price_source": "composite of 4 exchanges",
                "price_method": "VWAP over 24h before detection",
            }
        ],
    }
    payload.update(overrides)
    return payload


def test_approver_declares_an_incident_through_the_api(api_as):
    response = api_as(Role.APPROVER).post("/api/staff/incidents/", _payload(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["assets"][0]["reference_price_jpy"] == "88.54900000"
    asset = IncidentAsset.objects.get(incident__code="cc-2018")
    assert asset.reference_price_jpy == Decimal("88.549")
    assert Event.objects.get(action="incident.declared").data["after"]["assets"][0]["symbol"] == "XEM"


def test_duplicate_code_is_a_conflict(api_as):
    client = api_as(Role.APPROVER)
    client.post("/api/staff/incidents/", _payload(), format="json")
    again = client.post("/api/staff/incidents/", _payload(title="other"), format="json")
    assert again.status_code == 409
    assert again.json()["error"] == "incident_exists"
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"assets": []}, "assets"),
        ({"code": "has space"}, "code"),
        ({"detected_at": "not a date"}, "detected_at"),
        ({"assets": [{"symbol": "XEM", "quantity_lost": "-1", "wallet_type": "hot"}]}, "assets[0].quantity_lost"),
        ({"assets": [{"symbol": "XEM", "quantity_lost": "1", "wallet_type": "warm"}]}, "assets[0].wallet_type"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(api_as, overrides, field):
    response = api_as(Role.APPROVER).post("/api/staff/incidents/", _payload(**overrides), format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert field in response.json()["fields"]
    assert not Incident.objects.exists()
    assert not Event.objects.exists()


def test_inconsistent_times_are_refused(api_as):
    now = timezone.now()
    response = api_as(Role.APPROVER).post(
        "/api/staff/incidents/",
        _payload(claim_closes_at=(now - dt.timedelta(days=3)).isoformat()),
        format="json",
    )
    assert response.status_code == 400
    assert "claim_closes_at" in response.json()["fields"]
    assert not Incident.objects.exists()


def test_price_without_source_is_refused():
    with pytest.raises(ApplicationError) as error:
        incident_declare(
            assets=[
                services.AssetInput(
                    symbol="XEM", quantity_lost=Decimal(1), wallet_type="hot", reference_price_jpy=Decimal(88)
                )
            ]
        )
    assert "price_source" in error.value.extra["fields"]


def test_price_changes_until_a_claim_is_approved_then_is_locked(django_db_blocker):
    incident = incident_with_snapshot()
    asset = incident.assets.get(symbol="XEM")

    services.incident_asset_price_set(
        actor=TEST_ACTOR, asset=asset, reference_price_jpy=Decimal("90"), price_source="revised", price_method="VWAP"
    )
    from django.db import transaction

    with transaction.atomic():
        locked_incident = Incident.objects.select_for_update().get(pk=incident.pk)
        assert services.incident_prices_lock(actor=TEST_ACTOR, incident=locked_incident) is True

    with pytest.raises(ApplicationError) as error:
        services.incident_asset_price_set(
            actor=TEST_ACTOR, asset=asset, reference_price_jpy=Decimal("1"), price_source="late", price_method=""
        )
    assert error.value.code == "prices_locked"
    assert IncidentAsset.objects.get(pk=asset.pk).reference_price_jpy == Decimal("90")
    assert [e.action for e in Event.objects.filter(action__startswith="incident.price")] == [
        "incident.price_set",
        "incident.prices_locked",
    ]


@pytest.mark.postgres
def test_database_refuses_a_price_change_after_the_lock():
    from django.db import IntegrityError, transaction

    incident = incident_with_snapshot()
    with transaction.atomic():
        services.incident_prices_lock(
            actor=TEST_ACTOR, incident=Incident.objects.select_for_update().get(pk=incident.pk)
        )

    with pytest.raises(IntegrityError, match="locked"), transaction.atomic():
        IncidentAsset.objects.filter(incident=incident).update(reference_price_jpy=Decimal(1))
    with pytest.raises(IntegrityError, match="stay locked"), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(prices_locked_at=None)


def test_asset_added_to_draft_only(api_as):
    client = api_as(Role.APPROVER)
    incident = incident_declare()
    added = client.post(
        f"/api/staff/incidents/{incident.code}/assets/",
        {"symbol": "ETH", "quantity_lost": "10", "wallet_type": "cold"},
        format="json",
    )
    opened = incident_with_snapshot()
    refused = client.post(
        f"/api/staff/incidents/{opened.code}/assets/",
        {"symbol": "ETH", "quantity_lost": "10", "wallet_type": "cold"},
        format="json",
    )
    assert added.status_code == 201
    assert refused.status_code == 422
    assert refused.json()["error"] == "incident_assets_fixed"


def test_price_api_sets_price_with_source(api_as):
    incident = incident_declare()
    response = api_as(Role.APPROVER).post(
        f"/api/staff/incidents/{incident.code}/assets/XEM/price/",
        {"reference_price_jpy": "91.25", "price_source": "exchange A", "price_method": "close", "reason": "fix"},
        format="json",
    )
    missing = api_as(Role.APPROVER).post(
        f"/api/staff/incidents/{incident.code}/assets/DOGE/price/",
        {"reference_price_jpy": "1", "price_source": "x"},
        format="json",
    )
    assert response.status_code == 200
    assert IncidentAsset.objects.get(incident=incident, symbol="XEM").price_source == "exchange A"
    assert missing.status_code == 404


def test_a_field_error_is_answered_in_the_language_the_request_asks_for(api_as):
    now = timezone.now()
    client = api_as(Role.APPROVER)
    body = _payload(claim_closes_at=(now - dt.timedelta(days=3)).isoformat())

    japanese = client.post("/api/staff/incidents/", body, format="json", HTTP_ACCEPT_LANGUAGE="ja")
    english = client.post("/api/staff/incidents/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")

    assert japanese.status_code == english.status_code == 400
    assert japanese.json() == {
        "error": "invalid",
        "detail": "事故の日時が矛盾しています。",
        "fields": {"claim_closes_at": ["請求受付開始（claim_opens_at）より後にしてください"]},  # noqa: RUF001
    }
    assert english.json() == {
        "error": "invalid",
        "detail": "The incident's times are inconsistent.",
        "fields": {"claim_closes_at": ["must be after claim_opens_at"]},
    }


def test_a_missing_incident_is_answered_in_the_language_the_request_asks_for(api_as):
    client = api_as(Role.APPROVER)

    japanese = client.get("/api/staff/incidents/no-such/", HTTP_ACCEPT_LANGUAGE="ja")
    english = client.get("/api/staff/incidents/no-such/", HTTP_ACCEPT_LANGUAGE="en")

    assert japanese.status_code == english.status_code == 404
    assert japanese.json() == {"error": "not_found", "detail": "事故 no-such はありません。"}
    assert english.json() == {"error": "not_found", "detail": "No incident no-such."}
