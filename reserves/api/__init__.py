"""The reserves app's REST API, one module per audience (mounted under /api/ by reserves/urls.py).

staff      the reserve, fundings (maker-checker), policies, the funding panel, payouts, recoveries
rails      importing the bank's and the wallet system's result files
regulator  the read-only payout history (and its exports), the reserve, insurance usage
"""
