"""Account numbers and addresses are shown masked everywhere but the payout hand-off."""

from core.masking import account_number_masked, address_masked


def test_account_numbers_keep_only_their_last_three_digits():
    assert account_number_masked("1234567") == "****567"
    assert account_number_masked("12") == "12"
    assert account_number_masked("") == ""


def test_addresses_keep_a_recognisable_head_and_tail():
    assert address_masked("bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh") == "bc1qxy…0wlh"
    assert address_masked("short-addr") == "short-addr"
