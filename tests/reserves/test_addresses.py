"""Payout addresses checked per asset before anything is sent in kind (docs/rails.md, "In kind").

Vectors from BIP 173 / BIP 350 (segwit), the Bitcoin wiki (Base58Check) and EIP-55.
"""

import pytest

from reserves.addresses import AddressError, address_check

VALID = [
    ("BTC", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),  # P2PKH
    ("BTC", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),  # P2SH
    ("BTC", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),  # BIP 173: v0, bech32
    ("BTC", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"),  # upper case is valid bech32
    ("BTC", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"),  # BIP 350: v1, bech32m
    ("ETH", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),  # EIP-55
    ("ETH", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"),
    ("USDT", "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"),  # an ERC-20 token: the Ethereum rule
    ("XEM", "NDEMOAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),  # others: the documented fallback rule
]
INVALID = [
    ("BTC", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"),  # Base58Check checksum wrong
    ("BTC", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"),  # testnet
    ("BTC", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"),  # testnet segwit
    ("BTC", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"),  # bech32 checksum wrong
    ("BTC", "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx"),  # v1 in bech32 (BIP 350)
    ("BTC", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh"),  # v0 in bech32m (BIP 350)
    ("ETH", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),  # no checksum (all lower case)
    ("ETH", "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"),  # no checksum (all upper case)
    ("ETH", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),  # one letter's case wrong
    ("ETH", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),  # no 0x
    ("XEM", "short"),
    ("XEM", "has spaces in it which are refused"),
]


@pytest.mark.parametrize(("symbol", "address"), VALID)
def test_valid_addresses_pass(symbol, address):
    assert address_check(symbol=symbol, address=f" {address} ") == address


@pytest.mark.parametrize(("symbol", "address"), INVALID)
def test_invalid_addresses_are_refused_with_a_reason(symbol, address):
    with pytest.raises(AddressError) as refused:
        address_check(symbol=symbol, address=address)
    assert str(refused.value)
