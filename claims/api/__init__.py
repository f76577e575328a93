"""The claims app's REST API, one module per audience (mounted under /api/ by claims/urls.py).

    customer         incidents that affect me, holdings, filing and following my claims, my receipts
    staff_incidents  declare, price, import the snapshot, move an incident along
    staff_review     the review queue, decisions, batches and bulk approval
    regulator        the read-only incident summaries

One APIView class per operation, with its own InputSerializer; errors are core.errors.ErrorSerializer.
"""
