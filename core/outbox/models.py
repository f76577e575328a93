"""The outbox: work to do after commit, written in the same transaction as the change that asks for it."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """One Celery task to queue once the transaction that wrote this row has committed.

    Pending while `sent_at` is empty; marked sent only after the broker accepted the message.
    Published with the Celery task id `outbox-<id>`, so a task can tell a second delivery of it.
    """

    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    queue = models.CharField(max_length=200, blank=True, default="")
    # Queue the task no earlier than this (enqueue_after_commit's countdown).
    available_at = models.DateTimeField(default=timezone.now)
    # enqueue_after_commit's coalesce=(key, seconds): at most one run per key and interval.
    coalesce_key = models.CharField(max_length=200, blank=True, default="")
    coalesce_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["id"], name="outbox_pending", condition=Q(sent_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.task_name}#{self.pk}"


class OutboxDelivery(models.Model):
    """A side effect done for one delivery of a task (its key), so a second delivery does nothing."""

    key = models.CharField(max_length=250, primary_key=True)
    delivered_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.key
