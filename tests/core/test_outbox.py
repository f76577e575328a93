"""The transactional outbox behind core.dispatch: a broker outage loses no work and answers no error.

Against real PostgreSQL, a PRIVATE Redis (stopped and started here; never the machine's shared one)
and a real Celery worker. See core/outbox and docs/decisions/0014-transactional-outbox.md.
"""

import time
from collections import Counter
from collections.abc import Iterator

import pytest
from django.core import mail
from django.db import transaction

from claims import services
from claims.models import Customer
from config.celery import app
from core import outbox
from core.dispatch import enqueue, enqueue_after_commit
from core.outbox.models import OutboxMessage
from core.roles import Role
from reserves.models import Entitlement
from tests.support.factories import BANK_PAYOUT, claim_file, customer_user, incident_with_snapshot
from tests.support.login import staff
from tests.support.servers import PrivateRedis, free_port
from tests.support.workers import embedded_worker, wait_until

REDIS_PORT = free_port()
pytestmark = pytest.mark.postgres


@pytest.fixture
def private_redis(tmp_path, settings) -> Iterator[PrivateRedis]:
    """A Redis of this test's own as broker and cache; tasks are no longer eager (they go through the outbox)."""
    redis = PrivateRedis(tmp_path, REDIS_PORT)
    redis.start()
    saved = app.conf.broker_url
    app.conf.broker_url = redis.url
    _reset_broker_pool()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis.url,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
    app.conf.task_always_eager = False
    try:
        yield redis
    finally:
        app.conf.task_always_eager = True
        app.conf.broker_url = saved
        _reset_broker_pool()
        redis.stop()


def _reset_broker_pool() -> None:
    """Forget pooled broker connections (to the old broker URL, or to a Redis that was restarted)."""
    app._pool = None
    app.amqp._producer_pool = None


def _emails() -> Counter:
    return Counter((message.to[0], message.subject) for message in mail.outbox)


@pytest.mark.slow
def test_with_the_broker_down_requests_commit_answer_2xx_and_everything_is_delivered_once_later(
    transactional_db, private_redis, api_as
):
    incident = incident_with_snapshot()
    sato = api_as(customer_user(Customer.objects.get(account_id="ACC-1")))
    suzuki_claim = claim_file(Customer.objects.get(account_id="ACC-2"), incident)
    services.claim_recommend(actor=staff(Role.REVIEWER), claim=suzuki_claim)
    approver = api_as(staff(Role.APPROVER))
    with transaction.atomic():  # a publish that works: the pool now holds a live connection, soon a dead one
        enqueue_after_commit("core.outbox_relay")
    assert outbox.pending_count() == 0
    mail.outbox.clear()
    OutboxMessage.objects.all().delete()

    private_redis.stop()
    started = time.monotonic()
    filed = sato.post(
        "/api/claims/",
        {"incident": incident.code, "payout": BANK_PAYOUT},
        format="json",
        headers={"Idempotency-Key": "outage-1"},
    )
    approved = approver.post(f"/api/staff/claims/{suzuki_claim.ref}/decision/", {"action": "approve"}, format="json")
    elapsed = time.monotonic() - started

    assert filed.status_code == 201, filed.content[:500]
    assert approved.status_code == 200, approved.content[:500]
    assert elapsed < 5, f"the requests waited {elapsed:.1f} s on a broker that is down"
    # The work is in the outbox, written with the changes: the filing's email, the approval's email and hand-off.
    pending = Counter(OutboxMessage.objects.filter(sent_at__isnull=True).values_list("task_name", flat=True))
    assert pending["claims.claim_notify"] == 2 and pending["claims.payouts_hand_off"] == 1
    assert outbox.pending_count() == sum(pending.values())
    assert outbox.relay() == 0  # the relay, too, finds the broker down: nothing is marked sent
    assert outbox.pending_count() == sum(pending.values())
    assert OutboxMessage.objects.filter(attempts__gte=1).exists()
    time.sleep(0.05)
    assert outbox.lag_seconds() > 0

    private_redis.start()  # the pooled broker connections were to the old server: they reconnect on their own
    with embedded_worker(app):
        with app.connection_for_write() as broker:  # what beat does every OUTBOX_RELAY_SECONDS
            app.send_task("core.outbox_relay", connection=broker)
        wait_until(lambda: outbox.pending_count() == 0, timeout=30, what="the relay")
        wait_until(lambda: len(mail.outbox) >= 2 and Entitlement.objects.exists(), timeout=30, what="the tasks")
        # A relay that died after publishing and before marking them sent publishes them again: harmless.
        OutboxMessage.objects.filter(task_name__in=["claims.claim_notify", "claims.payouts_hand_off"]).update(
            sent_at=None
        )
        assert outbox.relay() == 3
        time.sleep(3)  # time for the second deliveries to run (and do nothing)

    assert outbox.lag_seconds() == 0
    emails = _emails()
    assert sorted(to for to, _ in emails) == ["sato@example.jp", "suzuki@example.jp"]
    assert set(emails.values()) == {1}, emails
    assert list(Entitlement.objects.values_list("claim_ref", flat=True)) == [suzuki_claim.ref]


def test_a_run_now_button_with_the_broker_down_answers_at_once_and_its_work_waits(transactional_db, private_redis):
    private_redis.stop()
    started = time.monotonic()
    enqueue("reserves.payouts_sweep")  # what the funds page's "run allocation now" does, outside a transaction
    assert time.monotonic() - started < 3
    assert list(OutboxMessage.objects.filter(sent_at__isnull=True).values_list("task_name", flat=True)) == [
        "reserves.payouts_sweep"
    ]


def test_work_of_a_transaction_that_rolls_back_is_never_written(transactional_db, private_redis):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_after_commit("claims.claim_notify", 1, "filed")
        assert outbox.pending_count() == 1
        raise RuntimeError("the change fails")
    assert outbox.pending_count() == 0


def test_a_committed_message_is_published_at_once_and_marked_sent(transactional_db, private_redis):
    with transaction.atomic():
        enqueue_after_commit("claims.claim_notify", 0, "filed", countdown=60)
    message = OutboxMessage.objects.get()
    assert message.sent_at is not None and message.attempts == 0
    assert outbox.lag_seconds() == 0  # sent; and a countdown message is not late before it is due


def test_a_second_delivery_of_an_email_task_sends_nothing(db):
    from claims.tasks import claim_notify

    incident = incident_with_snapshot()
    claim = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    mail.outbox.clear()
    claim_notify.apply(args=[claim.pk, "filed"], task_id="outbox-42")
    claim_notify.apply(args=[claim.pk, "filed"], task_id="outbox-42")  # the same message again
    claim_notify.apply(args=[claim.pk, "filed"], task_id="outbox-43")  # another message: another email
    assert len(mail.outbox) == 2


def test_a_failed_send_leaves_no_mark_so_the_retry_sends(db, settings):
    incident = incident_with_snapshot()
    claim = claim_file(Customer.objects.get(account_id="ACC-1"), incident)
    mail.outbox.clear()
    with pytest.raises(RuntimeError), outbox.once("claims.claim_notify:outbox-7") as first:
        assert first
        raise RuntimeError("SMTP server went away")
    with outbox.once("claims.claim_notify:outbox-7") as first:
        assert first  # the failed attempt left no mark
    with outbox.once("claims.claim_notify:outbox-7") as first:
        assert not first
    assert claim.pk


def test_tasks_that_queue_the_next_link_of_their_chain_with_the_broker_down_leave_it_in_the_outbox(
    transactional_db, private_redis, settings
):
    """A payout drainer queues the next chunk, the invitation dispatch its batches: with the broker down at that
    moment the work waits in the outbox (once it was a direct publish that failed, and only a sweep resumed it)."""
    from claims.models import Invitation
    from claims.tasks import invitations_dispatch
    from reserves.models import Payout
    from reserves.tasks import incident_allocate, payouts_process
    from tests.support.money import fund_open, paid_by_claim, register, reserve_fund

    settings.INVITATION_BATCH_SIZE = 1
    settings.PAYOUT_CHUNK_SIZE = 2
    reserve_fund(1_000_000)
    fund = fund_open()
    register(fund, {f"LINK-{i}": 1_000 + i for i in range(5)})
    private_redis.stop()

    incident = incident_with_snapshot()  # opening it queues a dispatch: pending, the broker is down
    started = time.monotonic()
    assert invitations_dispatch(incident.pk) == 2  # the task's body, as a worker runs it
    incident_allocate(fund.incident_code)  # a round: its drainers are queued after commit (pending too)
    first = payouts_process(fund.pk)
    assert time.monotonic() - started < 10, "the tasks waited on a broker that is down"

    assert first["processed"] == 2
    links = list(
        OutboxMessage.objects.filter(task_name="reserves.payouts_process", sent_at__isnull=True)
        .order_by("pk")
        .values_list("args", flat=True)
    )
    assert links[-1][0] == fund.pk and links[-1][1] > 0  # the next chunk, after the first one's last id
    pending = Counter(OutboxMessage.objects.filter(sent_at__isnull=True).values_list("task_name", flat=True))
    assert pending["claims.invitations_send"] == 2

    private_redis.start()
    with embedded_worker(app):
        outbox.relay()  # what beat does every OUTBOX_RELAY_SECONDS
        wait_until(
            lambda: (
                outbox.pending_count() == 0
                and not Invitation.objects.exclude(status=Invitation.Status.SENT).exists()
                and not Payout.objects.filter(fund=fund).exclude(status=Payout.Status.PAID).exists()
                and Payout.objects.filter(fund=fund).count() == 5
            ),
            timeout=60,
            what="the chains to finish",
        )
    assert sorted(to for to, _ in _emails()) == ["sato@example.jp", "suzuki@example.jp"]
    assert paid_by_claim(incident_code=fund.incident_code) == {f"LINK-{i}": 1_000 + i for i in range(5)}
