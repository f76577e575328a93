"""The reserves app's REST API, one module per audience (mounted under /api/ by reserves/urls.py).

staff_reserve  the reserve, fundings and replenishments (maker-checker), insurance policies
staff_funds    an incident's funding panel and settings, allocation now, payouts and retries, recoveries
rails          importing the bank's and the wallet system's result files
regulator      the read-only payout history (and its exports), the reserve, insurance usage
"""
