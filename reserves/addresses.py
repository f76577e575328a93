"""Checking a payout address per asset before anything is sent in kind (docs/rails.md, "In kind").

- Bitcoin (BTC): mainnet only. Base58Check (embit) with version byte 0x00
  (P2PKH) or 0x05 (P2SH) and a 20-byte payload; or a segwit address with
  human-readable part "bc": witness version 0 in bech32 (20- or 32-byte
  program), versions 1-16 in bech32m (BIP 350), as embit decodes them.
- Ethereum and its tokens (ETH, and the symbols in ETHEREUM_TOKENS): "0x" and
  40 hex digits with a valid EIP-55 checksum (eth-utils); an all-lower or
  all-upper address carries no checksum and is refused, so a typo cannot pass.
- Any other asset: the documented fallback rule: 20-128 characters of
  A-Z a-z 0-9 and : _ - . with no spaces (claims' form rule); the wallet
  system checks it again and may reject it (a returned in-kind payout).
"""

import re

from django.utils.translation import gettext_lazy as _
from embit import base58, bech32
from embit.base import EmbitError
from eth_utils import is_checksum_address

ETHEREUM_TOKENS = {"ETH", "USDT", "USDC", "DAI", "LINK", "WBTC"}
_FALLBACK = re.compile(r"^[A-Za-z0-9:_\-.]{20,128}$")
_ETH_SHAPE = re.compile(r"^0x[0-9a-fA-F]{40}$")


class AddressError(ValueError):
    pass


def _bitcoin(address: str) -> None:
    if address[:3].lower() == "bc1":
        version, program = bech32.decode("bc", address)
        if version is None or program is None:
            raise AddressError(_("not a valid Bitcoin segwit address (bech32 or bech32m checksum)"))
        return
    try:
        payload = base58.decode_check(address)
    except (EmbitError, ValueError) as exc:
        raise AddressError(_("not a valid Bitcoin address (Base58Check checksum)")) from exc
    if len(payload) != 21 or payload[0] not in (0x00, 0x05):
        raise AddressError(_("not a Bitcoin mainnet address (P2PKH or P2SH)"))


def _ethereum(address: str) -> None:
    if not _ETH_SHAPE.match(address):
        raise AddressError(_("an Ethereum address is 0x and 40 hexadecimal digits"))
    if not is_checksum_address(address):
        raise AddressError(_("the Ethereum address's EIP-55 checksum (its upper and lower case) is wrong"))


def rule_for(symbol: str) -> str:
    symbol = symbol.upper()
    if symbol == "BTC":
        return "bitcoin"
    if symbol in ETHEREUM_TOKENS:
        return "ethereum"
    return "fallback"


def address_check(*, symbol: str, address: str) -> str:
    """The address, stripped, if it is valid for the asset; AddressError (with a message for people) if not."""
    address = (address or "").strip()
    rule = rule_for(symbol)
    if rule == "bitcoin":
        _bitcoin(address)
    elif rule == "ethereum":
        _ethereum(address)
    elif not _FALLBACK.match(address):
        raise AddressError(_("must be 20-128 letters, digits or : _ - ."))
    return address
