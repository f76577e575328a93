from django.contrib import admin

from audit.models import Checkpoint, Event, Receipt, SigningKey, VerificationRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit records are written by services only and never changed or deleted."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor", "role", "action", "subject_type", "subject_id"]
    list_filter = ["action", "role"]
    search_fields = ["actor", "subject_id", "action"]


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["seq", "signed_at", "key", "hash"]


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["key_id", "first_used_at"]


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ["id", "issued_at", "subject_type", "subject_id", "event"]
    search_fields = ["id", "subject_id"]


@admin.register(VerificationRun)
class VerificationRunAdmin(ReadOnlyAdmin):
    list_display = ["ran_at", "ok", "checked", "head_seq", "first_bad_seq", "requested_by"]
    list_filter = ["ok"]
