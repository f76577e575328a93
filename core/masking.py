"""How account numbers and crypto addresses are shown: pages, the API, emails, audit data and receipts.

Only the payout hand-off (claims.selectors.claim_payout_details) and the payment rails see them whole.
"""


def account_number_masked(number: str) -> str:
    """****567: the last three digits only."""
    return ("*" * max(len(number) - 3, 0)) + number[-3:] if number else ""


def address_masked(address: str) -> str:
    """bc1qxy…9k2f: enough to recognise a crypto address, not to copy it."""
    return address if len(address) <= 12 else f"{address[:6]}…{address[-4:]}"
