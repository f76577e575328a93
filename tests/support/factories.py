"""factory_boy factories and builders of claims data: users, customers, incidents, snapshots, claims, files."""

import datetime as dt
import io
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import StaffAccount, StaffMember
from audit.services import Actor
from claims import services
from claims.models import Customer, Incident
from core.roles import STAFF_ROLES, Role

PASSWORD = "correct-horse-battery"
TEST_ACTOR = Actor.system("tests")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.jp")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
        self.save()
        if extracted in {r.value for r in STAFF_ROLES}:
            # Every staff login belongs to a person (accounts.StaffMember); one person per login here.
            staff_member_of(self)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    account_id = factory.Sequence(lambda n: f"ACC-{n:06d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.jp")


def staff_member_of(user, *, member: StaffMember | None = None) -> StaffMember:
    """Link `user` to `member` (a new person by default): a staff login, or a person's other login."""
    if member is None:
        member = StaffMember.objects.create(employee_id=f"E-{user.pk}-{user.username}"[:32], name=user.username)
    StaffAccount.objects.create(user=user, member=member)
    return member


def user_with_role(role: Role, **kwargs: object):
    return UserFactory(role=role.value, **kwargs)


def customer_user(customer: Customer):
    """A login with the customer role, linked to `customer`."""
    user = UserFactory(username=customer.email, email=customer.email, role=Role.CUSTOMER.value)
    customer.user = user
    customer.save(update_fields=["user"])
    return user


def asset_input(symbol: str = "XEM", price: str | None = "88.549", **overrides: object) -> services.AssetInput:
    fields: dict = {
        "symbol": symbol,
        "quantity_lost": Decimal("1000"),
        "wallet_type": "hot",
        "reference_price_jpy": None if price is None else Decimal(price),
        "price_source": "" if price is None else "test composite",
        "price_method": "" if price is None else "VWAP 24h",
    }
    fields.update(overrides)
    return services.AssetInput(**fields)


_incident_counter = iter(range(1, 10**9))


def incident_declare(
    *, code: str | None = None, assets: list[services.AssetInput] | None = None, **times: object
) -> Incident:
    """A draft incident with XEM and BTC priced, its claim window open now."""
    now = timezone.now()
    fields: dict = {
        "occurred_at": now - dt.timedelta(days=2),
        "detected_at": now - dt.timedelta(days=1),
        "snapshot_base_time": now - dt.timedelta(days=2, hours=1),
        "claim_opens_at": now - dt.timedelta(hours=1),
        "claim_closes_at": now + dt.timedelta(days=30),
    }
    fields.update(times)
    return services.incident_declare(
        actor=TEST_ACTOR,
        code=code or f"inc-{next(_incident_counter)}",
        title="Test incident",
        assets=assets if assets is not None else [asset_input("XEM", "88.549"), asset_input("BTC", "15000000")],
        **fields,
    )


def snapshot_csv(
    rows: list[tuple[str, str, str, str, str]], header: str = "account_id,name,email,asset,quantity"
) -> io.BytesIO:
    """An in-memory snapshot CSV file."""
    lines = [header] + [",".join(row) for row in rows]
    return io.BytesIO(("\n".join(lines) + "\n").encode("utf-8"))


def incident_with_snapshot(
    rows: list[tuple[str, str, str, str, str]] | None = None, *, open_it: bool = True
) -> Incident:
    """A declared incident with its snapshot imported and (by default) open for claims."""
    incident = incident_declare()
    rows = rows or [
        ("ACC-1", "Sato Haruto", "sato@example.jp", "XEM", "1000.5"),
        ("ACC-1", "Sato Haruto", "sato@example.jp", "BTC", "0.25"),
        ("ACC-2", "Suzuki Yui", "suzuki@example.jp", "XEM", "20"),
    ]
    services.snapshot_import(actor=TEST_ACTOR, incident=incident, file=snapshot_csv(rows), file_name="snap.csv")
    if open_it:
        incident = services.incident_transition(actor=TEST_ACTOR, incident=incident, to_status="open")
    return incident


# --- Claims ------------------------------------------------------------------------------------

BANK_PAYOUT = {
    "method": "bank",
    "bank_code": "0001",
    "branch_code": "001",
    "account_type": "1",
    "account_number": "1234567",
    "holder_name": "サトウ ハルト",
}


def bank_payout(**overrides: str) -> services.PayoutInput:
    return services.PayoutInput(**{**BANK_PAYOUT, **overrides})


_claim_keys = iter(range(1, 10**9))


def claim_file(
    customer: Customer,
    incident: Incident,
    lines: list[services.ClaimLineInput] | None = None,
    *,
    key: str | None = None,
    evidence: list | None = None,
):
    """File a claim for `customer` through the service (snapshot accepted unless lines say otherwise)."""
    return services.claim_file(
        customer=customer,
        incident=incident,
        lines=lines,
        payout=bank_payout(),
        idempotency_key=key or f"key-{next(_claim_keys)}",
        evidence=evidence or [],
    ).claim


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def upload(name: str = "statement.pdf", content: bytes = PDF_BYTES, content_type: str = "application/pdf"):
    """An in-memory uploaded file."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)
