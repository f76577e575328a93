"""The API's JSON parser: numbers exact, depth bounded, text storable; every refusal a 400 naming the field.

DRF's own JSONParser turns `0.123456789012345678` into a float, and so into
`0.12345678901234568`, before any serializer sees it. Here every JSON number
with a fraction or an exponent becomes a `Decimal` with exactly the digits
sent, so a quantity's `DecimalField` checks the real value (more than 18
decimal places is a 400, not a silent rounding). What no field could accept
is refused here, with the field's path (`lines[0].claimed_quantity`):

- `NaN`, `Infinity`, `-Infinity` (not JSON, though Python's parser reads them);
- numbers whose exponent is beyond `Decimal`'s range, integers over 4,300 digits;
- text with a NUL character or a lone surrogate (PostgreSQL stores neither);
- objects and arrays nested deeper than `MAX_DEPTH`;
- bodies larger than `settings.DATA_UPLOAD_MAX_MEMORY_SIZE` (413, before reading them).
"""

import codecs
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, ValidationError
from rest_framework.parsers import JSONParser, get_encoding  # type: ignore[attr-defined]  # (3.18, newer than the stubs)

# Deep enough for every request body of the API (the deepest is three levels), far below Python's recursion limit.
MAX_DEPTH = 32


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class _Refused:
    """A JSON number or constant no field may accept, kept with its text until the walk names its field."""

    __slots__ = ("reason", "text")

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason


def _number(text: str) -> Decimal | _Refused:
    try:
        return Decimal(text)
    except InvalidOperation:
        return _Refused(text, _("number out of range"))


def _integer(text: str) -> int | _Refused:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return _Refused(text, _("number out of range"))


def _constant(text: str) -> _Refused:
    return _Refused(text, _("not a number: NaN and Infinity are not JSON"))


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored (a NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return _("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _("must not contain lone surrogates")
    return None


def path_name(parent: str, key: str | int) -> str:
    """`lines` + 0 -> `lines[0]`; `lines[0]` + `asset` -> `lines[0].asset`."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def check_tree(value: Any) -> None:
    """Walk parsed JSON without recursion; raise a 400 naming the first field that no serializer may see."""
    stack: list[tuple[str, Any, int]] = [("", value, 1)]
    while stack:
        name, item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ParseError(_("JSON nested deeper than %(max)s levels.") % {"max": MAX_DEPTH})
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                child_name = path_name(name, key)
                if isinstance(key, str) and (problem := text_problem(key)):
                    raise ValidationError({name or "non_field_errors": [_("a key %(problem)s") % {"problem": problem}]})
                stack.append((child_name, child, depth + 1))
        elif isinstance(item, str):
            if problem := text_problem(item):
                raise ValidationError({name or "non_field_errors": [problem]})
        elif isinstance(item, _Refused):
            raise ValidationError({name or "non_field_errors": [item.reason]})


class ExactJSONParser(JSONParser):
    """JSON with exact numbers (Decimal, never float) and the refusals listed in this module's docstring."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        parser_context = parser_context or {}
        request = parser_context.get("request")
        if request is not None:
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
                raise RequestTooLarge()
        encoding = get_encoding(parser_context)
        try:
            data = json.load(
                codecs.getreader(encoding)(stream),
                parse_float=_number,
                parse_int=_integer,
                parse_constant=_constant,
            )
        except RecursionError:
            raise ParseError(_("JSON nested deeper than %(max)s levels.") % {"max": MAX_DEPTH}) from None
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %(detail)s") % {"detail": exc}) from None
        check_tree(data)
        return data
