import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from audit.models import Event
from claims import services
from claims.models import Customer, Holding, Snapshot
from claims.services.snapshot import file_sha256
from core.errors import ApplicationError
from demo.claims import SAMPLE_SNAPSHOT
from tests.support.factories import TEST_ACTOR, incident_declare, snapshot_csv

pytestmark = pytest.mark.django_db

GOOD_ROWS = [
    ("ACC-1", "Sato Haruto", "sato@example.jp", "XEM", "1000.123456789012345678"),
    ("ACC-1", "Sato Haruto", "sato@example.jp", "BTC", "0.25"),
    ("ACC-2", "Suzuki Yui", "suzuki@example.jp", "XEM", "0"),
]


def _import(incident, file: io.BytesIO, name: str = "snap.csv", progress=None):
    return services.snapshot_import(actor=TEST_ACTOR, incident=incident, file=file, file_name=name, progress=progress)


def test_good_file_imports_customers_holdings_and_records_its_hash():
    incident = incident_declare()
    file = snapshot_csv(GOOD_ROWS)
    seen: list[int] = []

    result = _import(incident, file, progress=seen.append)

    assert result.created
    snapshot = Snapshot.objects.get(incident=incident)
    assert (snapshot.row_count, snapshot.customer_count) == (3, 2)
    assert snapshot.sha256 == file_sha256(snapshot_csv(GOOD_ROWS))
    holdings = {
        (h.customer.account_id, h.asset.symbol): h.quantity for h in Holding.objects.select_related("customer", "asset")
    }
    assert holdings[("ACC-1", "XEM")].quantize(Decimal("0.001")) == Decimal("1000.123")  # exact on PostgreSQL: below
    assert holdings[("ACC-1", "BTC")] == Decimal("0.25")
    assert Customer.objects.get(account_id="ACC-2").email == "suzuki@example.jp"
    event = Event.objects.get(action="snapshot.imported")
    assert event.data["after"]["sha256"] == snapshot.sha256
    assert event.data["after"]["rows"] == 3
    assert sum(seen) == len(snapshot_csv(GOOD_ROWS).getvalue())


@pytest.mark.postgres
def test_eighteen_decimal_places_survive_exactly_on_postgres():
    incident = incident_declare()
    _import(incident, snapshot_csv(GOOD_ROWS))
    holding = Holding.objects.get(customer__account_id="ACC-1", asset__symbol="XEM")
    assert holding.quantity == Decimal("1000.123456789012345678")


def test_same_file_again_is_a_no_op():
    incident = incident_declare()
    first = _import(incident, snapshot_csv(GOOD_ROWS))
    events = Event.objects.count()

    again = _import(incident, snapshot_csv(GOOD_ROWS))

    assert not again.created
    assert again.snapshot.pk == first.snapshot.pk
    assert Holding.objects.count() == 3
    assert Event.objects.count() == events


def test_different_file_for_an_incident_with_a_snapshot_is_refused():
    incident = incident_declare()
    _import(incident, snapshot_csv(GOOD_ROWS))

    with pytest.raises(ApplicationError) as error:
        _import(incident, snapshot_csv(GOOD_ROWS[:2]))

    assert error.value.code == "snapshot_exists"
    assert error.value.status == 409
    assert Holding.objects.count() == 3


def test_existing_customers_are_reused_across_incidents():
    first, second = incident_declare(), incident_declare()
    _import(first, snapshot_csv(GOOD_ROWS))
    _import(second, snapshot_csv(GOOD_ROWS[:1]))
    assert Customer.objects.count() == 2
    assert Holding.objects.count() == 4


BAD_FILE_ROWS = [
    ("ACC-1", "Sato", "sato@example.jp", "XEM", "10"),  # line 2: fine
    ("ACC-2", "Suzuki", "suzuki@example.jp", "DOGE", "1"),  # 3: unknown asset
    ("ACC-3", "Takahashi", "takahashi@example.jp", "XEM", "-5"),  # 4: negative
    ("ACC-4", "Tanaka", "tanaka@example.jp", "XEM", "ten"),  # 5: not a number
    ("ACC-5", "Ito", "ito@example.jp", "XEM", "1.1234567890123456789"),  # 6: 19 places
    ("ACC-1", "Sato", "sato@example.jp", "XEM", "11"),  # 7: duplicate of line 2
    ("ACC-6", "Watanabe", "not-an-email", "BTC", "1"),  # 8: malformed email
    ("ACC-7", "Yamamoto", "yamamoto@example.jp", "BTC", "1e5"),  # 9: not plain decimal
]


def test_bad_rows_reject_the_whole_file_with_line_numbers_and_write_nothing():
    incident = incident_declare()
    events_before = Event.objects.count()

    with pytest.raises(services.SnapshotRejected) as rejected:
        _import(incident, snapshot_csv(BAD_FILE_ROWS))

    reasons = {e["line"]: e["reason"] for e in rejected.value.errors}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert "unknown asset 'DOGE'" in reasons[3]
    assert "negative" in reasons[4]
    assert "not a plain decimal" in reasons[5]
    assert "more than 18 decimal places" in reasons[6]
    assert "duplicate account ACC-1 and asset XEM (first on line 2)" in reasons[7]
    assert "malformed email" in reasons[8]
    assert "not a plain decimal" in reasons[9]
    assert rejected.value.error_count == 7
    assert not Customer.objects.exists()
    assert not Holding.objects.exists()
    assert not Snapshot.objects.exists()
    assert Event.objects.count() == events_before


def test_duplicate_alone_is_found_by_the_unique_index_and_reported():
    incident = incident_declare()
    rows = [GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[0]]
    with pytest.raises(services.SnapshotRejected) as rejected:
        _import(incident, snapshot_csv(rows))
    assert [e["line"] for e in rejected.value.errors] == [4]
    assert not Customer.objects.exists()
    assert not Holding.objects.exists()


def test_account_with_two_emails_is_rejected():
    incident = incident_declare()
    rows = [GOOD_ROWS[0], ("ACC-1", "Sato Haruto", "other@example.jp", "BTC", "1")]
    with pytest.raises(services.SnapshotRejected) as rejected:
        _import(incident, snapshot_csv(rows))
    assert rejected.value.errors == [
        {"line": 3, "reason": "account ACC-1 has a different name or email than on line 2"}
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("account_id,name,email,asset", "missing column(s) quantity"),
        ("account_id,name,mail,asset,quantity", "missing column(s) email; unknown column(s) mail"),
    ],
)
def test_missing_column_rejects_at_line_1(header, expected):
    incident = incident_declare()
    with pytest.raises(services.SnapshotRejected) as rejected:
        _import(incident, snapshot_csv([], header=header))
    assert rejected.value.errors[0]["line"] == 1
    assert expected in rejected.value.errors[0]["reason"]


def test_columns_in_another_order_are_accepted():
    incident = incident_declare()
    file = io.BytesIO(b"quantity,asset,email,name,account_id\n5,XEM,a@example.jp,A,ACC-9\n")
    assert _import(incident, file).snapshot.row_count == 1


def test_wrong_field_count_and_non_utf8_are_reported():
    incident = incident_declare()
    with pytest.raises(services.SnapshotRejected) as rejected:
        _import(incident, io.BytesIO(b"account_id,name,email,asset,quantity\nACC-1,A,a@example.jp,XEM\n"))
    assert rejected.value.errors == [{"line": 2, "reason": "expected 5 fields, found 4"}]

    with pytest.raises(services.SnapshotRejected) as rejected:
        _import(incident, io.BytesIO(b"account_id,name,email,asset,quantity\nACC-1,\xff\xfe,a@example.jp,XEM,1\n"))
    assert "not UTF-8" in rejected.value.errors[0]["reason"]


def test_empty_file_is_rejected():
    incident = incident_declare()
    with pytest.raises(services.SnapshotRejected):
        _import(incident, snapshot_csv([]))
    assert not Snapshot.objects.exists()


def test_report_keeps_the_first_errors_and_counts_all(settings):
    settings.SNAPSHOT_MAX_REPORTED_ERRORS = 3
    incident = incident_declare()
    rows = [(f"ACC-{i}", "N", "n@example.jp", "NOPE", "1") for i in range(10)]
    with pytest.raises(services.SnapshotRejected) as rejected:
        _import(incident, snapshot_csv(rows))
    assert len(rejected.value.errors) == 3
    assert rejected.value.error_count == 10


def test_only_a_draft_takes_a_snapshot():
    from claims.models import Incident

    incident = incident_declare()
    Incident.objects.filter(pk=incident.pk).update(status="open")  # as if opened without one

    with pytest.raises(ApplicationError) as error:
        _import(incident, snapshot_csv(GOOD_ROWS))

    assert error.value.code == "incident_not_draft"
    assert not Holding.objects.exists()


def test_same_file_is_still_a_no_op_after_opening():
    incident = incident_declare()
    _import(incident, snapshot_csv(GOOD_ROWS))
    services.incident_transition(actor=TEST_ACTOR, incident=incident, to_status="open")
    assert _import(incident, snapshot_csv(GOOD_ROWS)).created is False


def test_command_imports_with_progress_and_reports_rejections(tmp_path, capsys):
    incident = incident_declare(assets=[])
    services.incident_asset_add(actor=TEST_ACTOR, incident=incident, asset=_asset("XEM"))
    services.incident_asset_add(actor=TEST_ACTOR, incident=incident, asset=_asset("BTC"))
    services.incident_asset_add(actor=TEST_ACTOR, incident=incident, asset=_asset("ETH"))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(snapshot_csv(BAD_FILE_ROWS).getvalue())

    with pytest.raises(SystemExit) as exit_:
        call_command("snapshot_import", incident.code, str(bad))
    assert exit_.value.code == 1
    assert "line 3: unknown asset 'DOGE'" in capsys.readouterr().err

    call_command("snapshot_import", incident.code, str(SAMPLE_SNAPSHOT))
    output = capsys.readouterr()
    assert "Imported 54 rows for 26 customers" in output.out  # the demo sample snapshot
    assert "validating" in output.err  # the progress bar
    call_command("snapshot_import", incident.code, str(SAMPLE_SNAPSHOT))
    assert "Already imported" in capsys.readouterr().out


def _asset(symbol: str):
    from tests.support.factories import asset_input

    return asset_input(symbol, "100")
