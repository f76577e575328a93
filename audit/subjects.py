"""What the audit browser knows about the subjects of events, told by the apps above it (audit imports none).

An app registers, in its AppConfig.ready():
- `describer_register(subject_type, describe)`: `describe(ids)` answers {id: SubjectLink(label, url)} for a page
  of events at once, so an event links to its subject ("claim C-00012" → the regulator's page of it);
- `finder_register(kind, find)`: `find(text)` answers a Q over Event for a search by a human reference
  ("claim" by its reference, "payout" by its number), or None when nothing has that reference.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q


@dataclass(frozen=True)
class SubjectLink:
    label: str
    url: str


Describer = Callable[[list[str]], dict[str, SubjectLink]]
Finder = Callable[[str], Q | None]

_describers: dict[str, Describer] = {}
_finders: dict[str, list[Finder]] = defaultdict(list)
NOTHING = Q(pk__in=[])


def describer_register(subject_type: str, describe: Describer) -> None:
    _describers[subject_type] = describe


def finder_register(kind: str, find: Finder) -> None:
    if find not in _finders[kind]:
        _finders[kind].append(find)


def subjects_describe(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SubjectLink]:
    """Links for (subject_type, subject_id) pairs: one call per subject type."""
    by_type: dict[str, set[str]] = defaultdict(set)
    for subject_type, subject_id in pairs:
        by_type[subject_type].add(subject_id)
    found: dict[tuple[str, str], SubjectLink] = {}
    for subject_type, ids in by_type.items():
        describe = _describers.get(subject_type)
        if describe is not None:
            for subject_id, link in describe(sorted(ids)).items():
                found[(subject_type, subject_id)] = link
    return found


def search_q(kind: str, text: str) -> Q:
    """The events about what `text` names (every registered finder of `kind`, or-ed); nothing when none knows it."""
    parts = [q for find in _finders.get(kind, []) if (q := find(text.strip())) is not None]
    if not parts:
        return NOTHING
    combined = parts[0]
    for q in parts[1:]:
        combined |= q
    return combined
