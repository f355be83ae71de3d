"""The orbit/extension regex generators match exactly their numbers; the shadowing analysis agrees with `re`."""

import random
import re

from hypothesis import given, settings, strategies as st

from fscontrol.render.lang import Language
from fscontrol.render.regex import digit_class, range_regex, set_regex


@st.composite
def ranges(draw):
    width = draw(st.integers(1, 9))
    a = draw(st.integers(0, 10 ** width - 1))
    b = draw(st.integers(0, 10 ** width - 1))
    return width, min(a, b), max(a, b)


def _probes(width, first, last, rnd):
    """Every number when the width is small; else the edges of the range and random others."""
    if width <= 3:
        return range(10 ** width)
    top = 10 ** width - 1
    edges = {first - 1, first, first + 1, last - 1, last, last + 1, 0, top}
    for v in (first, last):  # digit-boundary neighbours
        for k in range(width):
            edges |= {v - 10 ** k, v + 10 ** k}
    edges |= {rnd.randint(0, top) for _ in range(200)}
    edges |= {rnd.randint(first, last) for _ in range(100)}
    return sorted(v for v in edges if 0 <= v <= top)


@settings(max_examples=300, deadline=None)
@given(ranges(), st.sampled_from(["", "*", "#"]), st.randoms())
def test_range_regex_matches_exactly_the_range(rng, prefix, rnd):
    width, first, last = rng
    rx = re.compile(range_regex(first, last, width, prefix))
    for v in _probes(width, first, last, rnd):
        number = f"{prefix}{v:0{width}d}"
        m = rx.fullmatch(number)
        assert bool(m) == (first <= v <= last), (rx.pattern, number)
        if m:
            assert m.group(1) == number
    # other lengths and prefixes never match
    assert not rx.fullmatch(f"{prefix}{first:0{width + 1}d}")
    assert not rx.fullmatch(f"{'#' if prefix != '#' else '*'}{first:0{width}d}")


@settings(max_examples=200, deadline=None)
@given(ranges())
def test_range_regex_grows_with_digits_not_size(rng):
    width, first, last = rng
    pattern = range_regex(first, last, width)
    assert pattern.count("|") + 1 <= 2 * width


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 3).flatmap(
    lambda w: st.sets(st.integers(0, 10 ** w - 1).map(lambda v: f"{v:0{w}d}"), min_size=1, max_size=60)),
    st.sets(st.integers(10, 99).map(str), max_size=5))
def test_set_regex_matches_exactly_the_set(numbers, others):
    numbers = numbers | others
    rx = re.compile(set_regex(numbers))
    for w in (1, 2, 3):
        for v in range(10 ** w):
            s = f"{v:0{w}d}"
            assert bool(rx.fullmatch(s)) == (s in numbers), (rx.pattern, s)


def test_set_regex_of_consecutive_numbers_is_compact():
    assert set_regex([str(n) for n in range(1000, 2000)]) == "^(1[0-9]{3})$"
    assert set_regex(["1001", "1002", "1003"]) == "^(100[1-3])$"
    assert len(set_regex([str(n) for n in range(10000, 60000)])) < 40


def test_digit_class():
    assert digit_class([5]) == "5"
    assert digit_class(range(10)) == "[0-9]"
    assert digit_class([1, 2, 3, 7, 8]) == "[1-378]"


PATTERNS = [r"^(70[0-9]{2})$", r"^(7\d+)$", r"^\*\*(\d+)$", r"^(\*80(?:0[1-9]|[1-9][0-9]))$",
            r"^\*70$", r"^(100[1-3])$", r"^vmain$|^4000$|^\*98$", r"park\+(\d+)", r"^(.*)$",
            r"^8(10[01][0-9])$", r"^[^7]\d{3}$", r"^\*\*(100[1-3])$", r"^(\*98)$", r"^(7|70)?0$"]


def test_common_string_agrees_with_re():
    rnd = random.Random(7)
    alphabet = "0123456789*#+parkvmain"
    samples = {"".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 6))) for _ in range(20000)}
    samples |= {"7000", "7099", "**55", "*98", "1002", "*8001", "park+5", "81001", "0", "70", "700"}
    for a in PATTERNS:
        for b in PATTERNS:
            witness = Language(a).common(Language(b))
            if witness is not None:
                assert re.search(a, witness) and re.search(b, witness), (a, b, witness)
            else:
                assert not any(re.search(a, s) and re.search(b, s) for s in samples), (a, b)
