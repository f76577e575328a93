"""Every URL pattern of the project, from the resolver: its full name, a path that reaches it, and its view.

The authorisation matrix (tests/test_authz_matrix.py) and the second-factor walk
(tests/accounts/test_second_factor_everywhere.py) take their URLs from here, so a new URL is
covered without editing either.
"""

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern

# Ids no row has (sequences are shared by the whole test run), unless a caller passes real ones.
_CONVERTER_SAMPLES = {"int": "987654321", "slug": "x", "str": "x", "uuid": str(uuid.UUID(int=1)), "path": "x"}


@dataclass(frozen=True)
class Url:
    name: str  # "namespace:name", or the route when the pattern has no name
    route: str  # the pattern as written, prefixes joined
    parts: tuple[tuple[str, bool], ...]  # (pattern, is_regex) from the root
    callback: Any

    @property
    def view_class(self) -> Any:
        return getattr(self.callback, "view_class", None) or getattr(self.callback, "cls", None)

    def path(self, **values: str) -> str:
        """A path that resolves to this pattern: `values` for named parameters, samples for the rest."""
        out = []
        for pattern, is_regex in self.parts:
            if is_regex:
                out.append(_regex_sample(pattern, values))
            else:
                out.append(
                    re.sub(
                        r"<(?:(\w+):)?(\w+)>",
                        lambda m: values.get(m.group(2), _CONVERTER_SAMPLES.get(m.group(1) or "str", "x")),
                        pattern,
                    )
                )
        return "/" + "".join(out)


def _regex_sample(pattern: str, values: dict[str, str]) -> str:
    def group(match: re.Match) -> str:
        name, body = match.group(1), match.group(2)
        if name in values:
            return values[name]
        if "|" in body:
            return body.split("|")[0]
        if "\\d" in body or "0-9" in body:
            return "987654321"
        return "x"

    text = re.sub(r"\(\?P<(\w+)>((?:[^()]|\([^()]*\))*)\)", group, pattern)
    return text.lstrip("^").rstrip("$").replace("\\.", ".").replace("\\", "")


def project_urls() -> list[Url]:
    """Every URL pattern the project serves (pages, API, the Django admin, third-party includes)."""
    found: list[Url] = []

    def walk(patterns: list, parts: tuple[tuple[str, bool], ...], namespace: str) -> None:
        for entry in patterns:
            here = (*parts, (str(entry.pattern), isinstance(entry.pattern, RegexPattern)))
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, here, ":".join(filter(None, [namespace, entry.namespace])))
                continue
            assert isinstance(entry, URLPattern)
            route = "".join(p for p, _ in here)
            name = ":".join(filter(None, [namespace, entry.name])) if entry.name else route
            found.append(Url(name=name, route=route, parts=here, callback=entry.callback))

    walk(get_resolver().url_patterns, (), "")
    return found
