"""Families behind one phone number. A number given for several pupils is one family's when
the pupils share a surname or the file gives the same contact name for them (a mother whose
children have different surnames); otherwise it is shared by unrelated families (a childminder,
a hostel's office), and no text to it may name children of more than one of them.

Pure: takes (key, pupil surname, contact name) triples, returns the families as lists of keys.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def _same(text: str) -> str:
    return " ".join(text.casefold().split())


def families(members: Sequence[tuple[K, str, str]]) -> list[list[K]]:
    """Group the people one number is given for: two are one family if their surnames match
    or the contact names given for them match (case and spacing aside), and families join
    through anyone they share. An empty name joins nothing. In order of first appearance."""
    parent = list(range(len(members)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[tuple[str, str], int] = {}
    for i, (_, surname, contact_name) in enumerate(members):
        for label in (("surname", _same(surname)), ("contact", _same(contact_name))):
            if not label[1]:
                continue
            j = first_with.setdefault(label, i)
            parent[root(i)] = root(j)
    groups: dict[int, list[K]] = {}
    for i, (key, _, _) in enumerate(members):
        group = groups.setdefault(root(i), [])
        if key not in group:
            group.append(key)
    return list(groups.values())
