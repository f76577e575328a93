"""Read-only admin views of the money tables: every change goes through the services (and their audit events)."""

from django.contrib import admin

from reserves.models import (
    Account,
    Allocation,
    Entitlement,
    IncidentFund,
    InsurancePolicy,
    Payout,
    RecoveryClaim,
    ReserveFunding,
    Transfer,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "kind", "balance_jpy"]
    list_filter = ["kind"]
    search_fields = ["code"]


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "kind", "debit_account", "credit_account", "amount_jpy", "incident_code"]
    list_filter = ["kind"]
    search_fields = ["idempotency_key", "incident_code", "memo"]


@admin.register(ReserveFunding)
class ReserveFundingAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "amount_jpy", "status", "requested_by", "decided_by", "requested_at"]
    list_filter = ["status", "kind"]


@admin.register(InsurancePolicy)
class InsurancePolicyAdmin(ReadOnlyAdmin):
    list_display = ["policy_number", "insurer", "layer_order", "retention_jpy", "per_occurrence_limit_jpy"]


@admin.register(IncidentFund)
class IncidentFundAdmin(ReadOnlyAdmin):
    list_display = ["incident_code", "title", "round", "on_hold", "base_amount_jpy", "expected_loss_jpy"]


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ["fund", "seq", "rule_version", "reason", "loss_basis_jpy", "funds_jpy", "level_jpy", "created_at"]


@admin.register(Entitlement)
class EntitlementAdmin(ReadOnlyAdmin):
    list_display = ["claim_ref", "fund", "customer_account_id", "eligible_jpy", "allocated_jpy", "round"]
    search_fields = ["claim_ref", "customer_account_id"]


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ["id", "claim_ref", "amount_jpy", "status", "attempts", "rail", "rail_reference"]
    list_filter = ["status", "rail"]
    search_fields = ["claim_ref", "idempotency_key", "rail_reference"]


@admin.register(RecoveryClaim)
class RecoveryClaimAdmin(ReadOnlyAdmin):
    list_display = ["fund", "policy", "amount_claimed_jpy", "settled_jpy", "status", "notice_due_at", "proof_due_at"]
