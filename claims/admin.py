"""Read-only admin views: every change goes through services, so the audit trail sees it."""

from django.contrib import admin

from claims.models import Claim, ClaimBatch, ClaimLine, Customer, Incident, IncidentAsset, Snapshot


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class IncidentAssetInline(admin.TabularInline):
    model = IncidentAsset
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["code", "title", "status", "detected_at", "claim_opens_at", "claim_closes_at"]
    list_filter = ["status"]
    search_fields = ["code", "title"]
    inlines = [IncidentAssetInline]


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["account_id", "name", "email", "language", "user"]
    search_fields = ["account_id", "email", "name"]


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ["incident", "sha256", "row_count", "customer_count", "imported_at", "imported_by"]


class ClaimLineInline(admin.TabularInline):
    model = ClaimLine
    extra = 0
    can_delete = False
    fields = ["asset", "snapshot_quantity", "claimed_quantity", "approved_quantity", "value_jpy", "reason"]
    readonly_fields = ["asset", "snapshot_quantity", "claimed_quantity", "approved_quantity", "value_jpy", "reason"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = [
        "ref",
        "incident",
        "customer",
        "status",
        "amount_jpy",
        "approved_amount_jpy",
        "paid_jpy",
        "submitted_at",
    ]
    list_filter = ["status", "disputed", "matches_snapshot", "incident"]
    search_fields = ["ref", "customer__account_id"]
    # The payout choice (with the full account number) is deliberately not shown here.
    exclude = ["request_fingerprint"]
    inlines = [ClaimLineInline]


@admin.register(ClaimBatch)
class ClaimBatchAdmin(ReadOnlyAdmin):
    list_display = ["pk", "incident", "status", "claim_count", "total_jpy", "created_by", "approved_by"]
    list_filter = ["status", "incident"]
