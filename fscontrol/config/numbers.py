"""Orbit number rules, after Lync's New-CsCallParkOrbit: the shape of a number and of a range."""

from __future__ import annotations

import bisect
import heapq
import re
from dataclasses import dataclass

# Lync: an optional * or # followed by up to 8 digits (first not 0), or up to 9 digits.
ORBIT_NUMBER = re.compile(r"(?:[*#][1-9]\d{0,7}|[1-9]\d{0,8})")

MAX_PER_RANGE = 10_000
MAX_TOTAL = 50_000


@dataclass(frozen=True)
class NumberRange:
    """A validated range of dialable numbers with one prefix (`""`, `*` or `#`) and one length."""

    prefix: str
    width: int  # digits after the prefix
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def number(self, value: int) -> str:
        return f"{self.prefix}{value:0{self.width}d}"

    def contains(self, number: str) -> bool:
        prefix, digits = split(number)
        return (prefix == self.prefix and len(digits) == self.width and digits.isdigit()
                and self.first <= int(digits) <= self.last)

    def overlaps(self, other: "NumberRange") -> bool:
        return (self.prefix == other.prefix and self.width == other.width
                and self.first <= other.last and other.first <= self.last)

    def __iter__(self):
        return (self.number(v) for v in range(self.first, self.last + 1))


def split(number: str) -> tuple[str, str]:
    """`"*7000"` -> `("*", "7000")`; `"7000"` -> `("", "7000")`."""
    if number[:1] in ("*", "#"):
        return number[:1], number[1:]
    return "", number


def number_problem(number: str) -> str | None:
    """Why `number` is not a valid orbit number, or None."""
    if not ORBIT_NUMBER.fullmatch(number):
        return (f'"{number}" is not an orbit number: use 1 to 9 digits not starting with 0, '
                f'or * or # followed by 1 to 8 digits')
    prefix, digits = split(number)
    if prefix and int(digits) <= 100:
        return f'"{number}": after "{prefix}" the number must be greater than 100'
    return None


def range_problems(start: str, end: str) -> list[tuple[str, str]]:
    """Problems of a start/end pair as `(field, message)`, field being "start" or "end"."""
    problems = []
    for field, value in (("start", start), ("end", end)):
        why = number_problem(value)
        if why:
            problems.append((field, why))
    if problems:
        return problems
    if len(end) != len(start):
        return [("end", f'"{end}" has {len(end)} digits but start "{start}" has {len(start)}')]
    (sp, sd), (ep, ed) = split(start), split(end)
    if sp != ep:
        return [("end", f'"{end}" starts with "{ep}" but start "{start}" starts with "{sp}"')]
    if int(ed) < int(sd):
        return [("end", f'"{end}" is below start "{start}"')]
    size = int(ed) - int(sd) + 1
    if size > MAX_PER_RANGE:
        return [("end", f'{size:,} orbits from "{start}" to "{end}"; at most {MAX_PER_RANGE:,} per range')]
    return []


def make_range(start: str, end: str) -> NumberRange:
    """A NumberRange from a pair already checked by `range_problems`."""
    prefix, digits = split(start)
    return NumberRange(prefix, len(digits), int(digits), int(split(end)[1]))


class RangeIndex:
    """Which of many ranges hold a number, and which ranges overlap, in O(n log n) for n ranges
    instead of comparing every pair: ranges are grouped by prefix and width and sorted by their
    first number. `items` are `(key, NumberRange)`; results name the keys."""

    def __init__(self, items):
        self._groups: dict[tuple[str, int], tuple[list[int], list[int], list]] = {}
        by_group: dict[tuple[str, int], list] = {}
        for order, (key, rng) in enumerate(items):
            by_group.setdefault((rng.prefix, rng.width), []).append((rng.first, order, rng.last, key))
        for group, entries in by_group.items():
            entries.sort()
            firsts = [e[0] for e in entries]
            reach, top = [], -1  # reach[k]: the highest `last` among entries[:k + 1]
            for e in entries:
                top = max(top, e[2])
                reach.append(top)
            self._groups[group] = (firsts, reach, entries)

    def find(self, number: str) -> list:
        """Keys of the ranges holding `number`, in the order the ranges were given."""
        prefix, digits = split(number)
        group = self._groups.get((prefix, len(digits)))
        if group is None or not digits.isdigit():
            return []
        firsts, reach, entries = group
        value = int(digits)
        found = []
        k = bisect.bisect_right(firsts, value) - 1
        while k >= 0 and reach[k] >= value:  # only overlapping ranges make this go back further
            first, order, last, key = entries[k]
            if last >= value:
                found.append((order, key))
            k -= 1
        return [key for _, key in sorted(found)]

    def overlaps(self) -> list[tuple[object, object]]:
        """`(later key, earlier key)` for every pair of overlapping ranges, in the order the
        later ones were given (then the earlier ones)."""
        pairs = []
        for firsts, reach, entries in self._groups.values():
            active: list[tuple[int, int, object]] = []  # heap of (last, order, key) still open
            for first, order, last, key in entries:
                while active and active[0][0] < first:
                    heapq.heappop(active)
                for _, other_order, other_key in active:
                    a, b = ((order, key), (other_order, other_key))
                    later, earlier = (a, b) if a[0] > b[0] else (b, a)
                    pairs.append((later[0], earlier[0], later[1], earlier[1]))
                heapq.heappush(active, (last, order, key))
        return [(later, earlier) for _, _, later, earlier in sorted(pairs, key=lambda p: p[:2])]
