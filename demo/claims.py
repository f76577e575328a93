"""Demo data for `make run`: one login per role, an incident with its snapshot, open for claims."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.people import staff_account_ensure
from audit.services import Actor
from claims import services
from claims.models import Claim, Customer, Incident
from core.roles import STAFF_ROLES, Role
from demo.money import demo_money_load
from reserves.services.liabilities import incident_liabilities_publish

SAMPLE_SNAPSHOT = Path(__file__).resolve().parent / "samples" / "snapshot_sample.csv"
DEMO_INCIDENT = "demo-2026-hot-wallet"
ACTOR = Actor.system("system:demo")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    note: str = ""


# Demo-only credentials for a local machine; `demo_load` refuses to run unless DEBUG is on.
DEMO_STAFF = [
    DemoLogin("admin", "demo-admin-pass", Role.ADMIN, "also Django admin at /admin/"),
    DemoLogin("approver", "demo-approver-pass", Role.APPROVER),
    DemoLogin("approver2", "demo-approver2-pass", Role.APPROVER, "second approver for four-eyes"),
    DemoLogin("reviewer", "demo-reviewer-pass", Role.REVIEWER),
    DemoLogin("regulator", "demo-regulator-pass", Role.REGULATOR),
]
# Customers of the sample snapshot who already have a login.
DEMO_CUSTOMERS = [
    DemoLogin("alice@example.jp", "demo-alice-pass", Role.CUSTOMER, "ACC-00001, claim waiting for review"),
    DemoLogin("bob@example.jp", "demo-bob-pass", Role.CUSTOMER, "ACC-00002, asked for a statement"),
    DemoLogin("emma@example.com", "demo-emma-pass", Role.CUSTOMER, "ACC-00021, English, no claim yet: file one"),
]
ENGLISH_CUSTOMERS = ("ACC-00021",)
# The registered katakana names (what the exchange's records hold): each bank payout is to the claimant's own name.
DEMO_KANA = {
    "ACC-00001": "サトウ ハルト",
    "ACC-00002": "スズキ ユイ",
    "ACC-00003": "タカハシ レン",
    "ACC-00004": "タナカ ヒナ",
    "ACC-00005": "イトウ ソウタ",
    "ACC-00006": "ワタナベ ミオ",
    "ACC-00007": "ヤマモト ユウト",
    "ACC-00008": "ナカムラ サクラ",
    "ACC-00009": "コバヤシ リク",
    "ACC-00010": "カトウ アオイ",
    "ACC-00021": "ウイルソン エマ",
    "ACC-00022": "モリ カイト",
    "ACC-00023": "イケダ ユア",
    "ACC-00024": "ハシモト ソラ",
    "ACC-00025": "アベ メイ",
    "ACC-00026": "イシカワ ナギ",
}
# Small claims (below the second-approver threshold) that match the snapshot: what a bulk batch takes.
BATCH_READY = ("ACC-00022", "ACC-00023", "ACC-00024", "ACC-00025", "ACC-00026")


def _user(login: DemoLogin) -> None:
    users = get_user_model().objects
    user = users.filter(username=login.username).first()
    if user is None:
        user = users.create_user(username=login.username, email=login.username if "@" in login.username else "")
    user.set_password(login.password)
    user.is_staff = user.is_superuser = login.role == Role.ADMIN
    user.save()
    user.groups.add(Group.objects.get(name=login.role))
    if login.role in STAFF_ROLES:
        staff_account_ensure(actor=ACTOR, user=user, employee_id=f"DEMO-{login.username}"[:32], name=login.username)


def _incident() -> Incident:
    incident = Incident.objects.filter(code=DEMO_INCIDENT).first()
    if incident is not None:
        return incident
    now = timezone.now()
    detected = now - dt.timedelta(days=2)
    price_window = {"price_window_start": detected - dt.timedelta(hours=24), "price_window_end": detected}
    incident = services.incident_declare(
        actor=ACTOR,
        code=DEMO_INCIDENT,
        title="Hot wallet breach (demo)",
        description="Unauthorised outflows from the XEM and BTC hot wallets. Demo data.",
        occurred_at=detected - dt.timedelta(hours=9),
        detected_at=detected,
        snapshot_base_time=detected - dt.timedelta(hours=10),
        claim_opens_at=now - dt.timedelta(days=1),
        claim_closes_at=now + dt.timedelta(days=60),
        assets=[
            services.AssetInput(
                symbol="XEM",
                quantity_lost=Decimal("523000000"),
                wallet_type="hot",
                reference_price_jpy=Decimal("88.549"),
                price_source="demo exchange composite",
                price_method="volume-weighted average over the 24 hours before detection",
                **price_window,
            ),
            services.AssetInput(
                symbol="BTC",
                quantity_lost=Decimal("120.5"),
                wallet_type="hot",
                reference_price_jpy=Decimal("15234000"),
                price_source="demo exchange composite",
                price_method="volume-weighted average over the 24 hours before detection",
                **price_window,
            ),
            services.AssetInput(
                symbol="ETH",
                quantity_lost=Decimal("800"),
                wallet_type="cold",
                reference_price_jpy=Decimal("512000"),
                price_source="demo exchange composite",
                price_method="volume-weighted average over the 24 hours before detection",
                **price_window,
            ),
        ],
    )
    with SAMPLE_SNAPSHOT.open("rb") as handle:
        services.snapshot_import(actor=ACTOR, incident=incident, file=handle, file_name=SAMPLE_SNAPSHOT.name)
    # Before the invitations go out: the English-speaking customer is written to in English.
    Customer.objects.filter(account_id__in=ENGLISH_CUSTOMERS).update(language="en")
    incident = services.incident_transition(
        actor=ACTOR, incident=incident, to_status=Incident.Status.OPEN, reason="demo data"
    )
    # The payout election: bank, in kind or the exchange account; silence means the exchange account.
    from claims.services import incident_election_configure

    return incident_election_configure(
        actor=ACTOR,
        incident=incident,
        offers_exchange_account=True,
        default_payout_method="exchange",
        election_deadline=now + dt.timedelta(days=21),
    )


def _bank_payout(account_id: str) -> services.PayoutInput:
    """A bank account in the claimant's own registered name (a distinct account number per customer)."""
    return services.PayoutInput(
        method="bank",
        bank_code="0001",
        branch_code="001",
        account_type="1",
        account_number=f"1{account_id[-5:]}0"[-7:],
        holder_name=DEMO_KANA[account_id],
    )


def _claims(incident: Incident) -> None:
    """Claims in every state, so the portal, the review queue, bulk approval and payouts have something to show."""
    users = get_user_model().objects
    reviewer = users.get(username="reviewer")

    def filed(
        account_id: str, lines: list[services.ClaimLineInput] | None = None, *, how: services.PayoutInput | None = None
    ) -> Claim | None:
        customer = Customer.objects.get(account_id=account_id)
        if Claim.objects.filter(customer=customer, incident=incident).exists():
            return None
        return services.claim_file(
            customer=customer,
            incident=incident,
            lines=lines,
            payout=how or _bank_payout(account_id),
            idempotency_key=f"demo-{account_id}",
            language=customer.language,
        ).claim

    # alice: accepted the snapshot; waiting for review.
    filed("ACC-00001")
    # bob: disputes his BTC balance; the reviewer asked for his deposit statement.
    bob = filed(
        "ACC-00002",
        [services.ClaimLineInput("BTC", Decimal("2.5"), "A deposit of 0.33838 BTC at 09:58 is missing.")],
    )
    if bob is not None:
        services.claim_info_request(
            actor=reviewer, claim=bob, message="Please upload the bank or wallet statement of that deposit."
        )
    # carol: matched the snapshot; the reviewer recommended it, an approver can approve it.
    carol = filed("ACC-00003")
    if carol is not None:
        services.claim_recommend(actor=reviewer, claim=carol, reason="matches the snapshot")
    # Three large ones that match the snapshot: above the threshold, each needs a review and two approvers.
    for account_id in ("ACC-00004", "ACC-00005", "ACC-00006"):
        filed(account_id)
    # Small ones that match the snapshot, below the second-approver threshold: a bulk batch takes them.
    for account_id in BATCH_READY:
        filed(account_id)
    # Four approved under four-eyes (two approvers above the threshold) and so paid from the reserve,
    # so the funding panel, the payout list and the regulator portal have payments to show.
    approvers = [users.get(username="approver"), users.get(username="approver2")]
    # ACC-00009 and ACC-00010 made no choice: the election's default, a credit to their exchange account
    # (through the exchange core reference server that `make run` starts, or the sandbox without it).
    default = services.PayoutInput(method="")
    for account_id in ("ACC-00007", "ACC-00008", "ACC-00009", "ACC-00010"):
        claim = filed(account_id, how=default if account_id in ("ACC-00009", "ACC-00010") else None)
        if claim is None:
            continue
        claim = services.claim_recommend(actor=reviewer, claim=claim, reason="matches the snapshot")
        for approver in approvers:
            if claim.status == Claim.Status.RECOMMENDED:
                claim = services.claim_approve(actor=approver, claim=claim, reason="demo approval")


def demo_load() -> list[DemoLogin]:
    """Create (or refresh) the demo logins, incident and claims; return the logins to print."""
    for login in DEMO_STAFF + DEMO_CUSTOMERS:
        _user(login)
    incident = _incident()
    demo_money_load(incident_code=incident.code, title=incident.title, detected_at=incident.detected_at)
    for login in DEMO_CUSTOMERS:
        user = get_user_model().objects.get(username=login.username)
        Customer.objects.filter(email=login.username, user__isnull=True).update(user=user)
    Customer.objects.filter(account_id__in=ENGLISH_CUSTOMERS).update(language="en")
    services.customer_kana_import(actor=ACTOR, rows=list(DEMO_KANA.items()))
    _claims(incident)
    # A proof of liabilities over the approved claims so far (normally published when the incident is settled).
    incident_liabilities_publish(actor=ACTOR, incident_code=incident.code)
    return DEMO_STAFF + DEMO_CUSTOMERS
