"""The reserves app's pages, one module per audience (reserves/urls.py routes them).

staff      the reserve, the funding panels, payouts and their receipts
rails      rail health, result imports, returned and unclaimed payouts
regulator  the read-only payout history, reserve adequacy and insurance usage
charts     the pages' charts, drawn with core.charts
"""
