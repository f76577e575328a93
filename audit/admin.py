from django.contrib import admin

from audit.models import Checkpoint, Cosignature, Event, LiabilityTree, Receipt, SigningKey, VerificationRun, Witness


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
    list_display = ["size", "signed_at", "key", "root"]


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["key_id", "first_used_at"]


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ["id", "issued_at", "subject_type", "subject_id", "event"]
    search_fields = ["id", "subject_id"]


@admin.register(VerificationRun)
class VerificationRunAdmin(ReadOnlyAdmin):
    list_display = ["ran_at", "ok", "checked", "tree_size", "first_bad_seq", "requested_by"]
    list_filter = ["ok"]


@admin.register(Cosignature)
class CosignatureAdmin(ReadOnlyAdmin):
    list_display = ["checkpoint", "witness", "timestamp", "received_at"]


@admin.register(Witness)
class WitnessAdmin(ReadOnlyAdmin):
    """Witnesses are registered with `manage.py audit_witness add VKEY` (the registration is audited)."""

    list_display = ["name", "active", "added_at"]


@admin.register(LiabilityTree)
class LiabilityTreeAdmin(ReadOnlyAdmin):
    list_display = ["incident_code", "count", "total_jpy", "created_at"]
