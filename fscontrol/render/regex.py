"""Compact regular expressions for sets of dialled numbers: the size grows with the number of
ranges (and with the digits of a number), never with the number of orbits or extensions."""

from __future__ import annotations

import re
from collections.abc import Iterable

DIGIT = "[0-9]"


def digit_class(digits: Iterable[int]) -> str:
    """`[1, 2, 3, 7]` -> `"[1-37]"`; one digit is itself; all ten are `[0-9]`."""
    ds = sorted(set(digits))
    if len(ds) == 1:
        return str(ds[0])
    runs: list[list[int]] = []
    for d in ds:
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{run[0]}-{run[-1]}")
        else:
            parts.extend(str(d) for d in run)
    return "[" + "".join(parts) + "]"


def _compress(atoms: list[str]) -> str:
    """Joins atoms, writing a run of `[0-9]` as `[0-9]{n}` when that is shorter."""
    out, i = [], 0
    while i < len(atoms):
        if atoms[i] == DIGIT:
            j = i
            while j < len(atoms) and atoms[j] == DIGIT:
                j += 1
            n = j - i
            out.append(DIGIT * n if n < 2 else f"{DIGIT}{{{n}}}")
            i = j
        else:
            out.append(atoms[i])
            i += 1
    return "".join(out)


def _range_atoms(lo: str, hi: str) -> list[list[str]]:
    """Alternatives (each a list of atoms) matching exactly the digit strings lo..hi (same length)."""
    if lo == hi:
        return [list(lo)]
    i = 0
    while lo[i] == hi[i]:
        i += 1
    prefix, lo, hi = list(lo[:i]), lo[i:], hi[i:]
    rest = len(lo) - 1
    zeros, nines = "0" * rest, "9" * rest
    a, b = int(lo[0]), int(hi[0])
    head: list[list[str]] = []
    tail: list[list[str]] = []
    if lo[1:] != zeros:  # lo's first digit only covers part of its block
        head = [prefix + [lo[0]] + alt for alt in _range_atoms(lo[1:], nines)]
        a += 1
    if hi[1:] != nines:
        tail = [prefix + [hi[0]] + alt for alt in _range_atoms(zeros, hi[1:])]
        b -= 1
    middle = [prefix + [digit_class(range(a, b + 1))] + [DIGIT] * rest] if a <= b else []
    return head + middle + tail


def _anchor(head: str, alternatives: list[str]) -> str:
    """`^(head(?:a|b))$`, written `^(a|b)$` when there is no head."""
    if alternatives == [""]:
        return f"^({head})$"
    if not head and len(alternatives) > 1:
        return "^(" + "|".join(alternatives) + ")$"
    return f"^({head}{_group(alternatives)})$"


def _group(alternatives: list[str]) -> str:
    return alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"


def range_regex(first: int, last: int, width: int, prefix: str = "") -> str:
    """An anchored regex whose group 1 is the whole number, for numbers `prefix + first..last`
    written with `width` digits (leading zeros kept): `range_regex(7000, 7099, 4)` is
    `^(70[0-9]{2})$`. At most 2 * width alternatives."""
    if not 0 <= first <= last < 10 ** width:
        raise ValueError(f"bad range {first}..{last} for width {width}")
    lo, hi = f"{first:0{width}d}", f"{last:0{width}d}"
    common = 0
    while common < width and lo[common] == hi[common]:
        common += 1
    alts = [_compress(a[common:]) for a in _range_atoms(lo, hi)]
    return _anchor(re.escape(prefix) + lo[:common], alts)


def set_regex(numbers: Iterable[str], prefix: str = "") -> str:
    """An anchored regex whose group 1 is the whole number, matching exactly `prefix + n` for the
    digit strings `numbers` (any lengths). Equal tails are merged into digit classes, so runs of
    consecutive numbers cost about as much as one range."""
    nums = sorted(set(numbers))
    if not nums:
        raise ValueError("no numbers")
    for n in nums:
        if not n.isdigit() or not n.isascii():
            raise ValueError(f"{n!r} is not a digit string")
    by_len: dict[int, list[str]] = {}
    for n in nums:
        by_len.setdefault(len(n), []).append(n)
    alts = [_trie_regex(group) for _, group in sorted(by_len.items())]
    return _anchor(re.escape(prefix), alts)


def _trie_regex(numbers: list[str]) -> str:
    """numbers: equal-length digit strings. Builds the digit trie bottom-up, merging children
    whose sub-expressions are equal into one digit class."""
    if len(numbers[0]) == 0:
        return ""
    children: dict[int, list[str]] = {}
    for n in numbers:
        children.setdefault(int(n[0]), []).append(n[1:])
    by_tail: dict[str, list[int]] = {}
    for d, rests in children.items():
        by_tail.setdefault(_trie_regex(rests), []).append(d)
    alts = []
    for tail, digits in sorted(by_tail.items(), key=lambda kv: min(kv[1])):
        head = digit_class(digits)
        alts.append(_merge_digits(head, tail))
    return _group(alts)


def _merge_digits(head: str, tail: str) -> str:
    """`[0-9]` + `[0-9]{2}` -> `[0-9]{3}`; otherwise plain concatenation."""
    if head == DIGIT:
        m = re.fullmatch(r"\[0-9\](?:\{(\d+)\})?(.*)", tail, re.S)
        if m and not tail.startswith("(?:"):
            n = int(m.group(1) or 1) + 1
            return f"{DIGIT}{{{n}}}{m.group(2)}"
    return head + tail
