"""The claims app's pages, one module per audience (claims/urls.py routes them).

home             the front door: each role to its own start page
customer         the portal: my incidents and claims, filing, answers, appeals, receipts; activation
staff_incidents  declaring, pricing, the snapshot upload, moving an incident along
staff_review     the review queue, one claim with its decisions, batches
regulator        the read-only incident pages with their charts
"""
