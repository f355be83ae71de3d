"""Which strings two dialplan regexes both match: a small NFA for the PCRE subset dialplans use
(literals, classes, `\\d`, groups, `|`, `? * + {m,n}`, `^ $`), and a product search that returns
a shortest common string. Used to prove that no extension shadows another."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

_DIGITS = frozenset("0123456789")


class Unsupported(ValueError):
    """The expression uses a construct this analysis does not model (lookaround, backreference)."""


@dataclass(frozen=True)
class CharSet:
    chars: frozenset
    negated: bool = False

    def meet(self, other: "CharSet") -> str | None:
        """A character in both sets, or None."""
        if not self.negated and not other.negated:
            both = self.chars & other.chars
        elif not self.negated:
            both = self.chars - other.chars
        elif not other.negated:
            both = other.chars - self.chars
        else:
            taken = self.chars | other.chars
            return next(c for c in map(chr, range(32, 0x110000)) if c not in taken)
        return min(both) if both else None


ANY = CharSet(frozenset(), True)


# --- parsing into a tiny AST: ("set", CharSet) ("cat", [..]) ("alt", [..]) ("rep", n, lo, hi|None)
#     ("bol",) ("eol",)

class _Parser:
    def __init__(self, text: str):
        self.s, self.i = text, 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def take(self) -> str:
        c = self.peek()
        self.i += 1
        return c

    def parse(self):
        node = self.alt()
        if self.i != len(self.s):
            raise Unsupported(f"unexpected {self.peek()!r} at {self.i}")
        return node

    def alt(self):
        branches = [self.seq()]
        while self.peek() == "|":
            self.take()
            branches.append(self.seq())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def seq(self):
        items = []
        while self.peek() and self.peek() not in "|)":
            items.append(self.quantified(self.atom()))
        return ("cat", items)

    def atom(self):
        c = self.take()
        if c == "(":
            if self.peek() == "?":
                self.take()
                if self.take() != ":":
                    raise Unsupported("only (?:...) groups are analysed")
            node = self.alt()
            if self.take() != ")":
                raise Unsupported("unbalanced (")
            return node
        if c == "[":
            return ("set", self.klass())
        if c == "\\":
            return ("set", self.escape())
        if c == ".":
            return ("set", ANY)
        if c == "^":
            return ("bol",)
        if c == "$":
            return ("eol",)
        if c in "*+?{)":
            raise Unsupported(f"misplaced {c!r}")
        return ("set", CharSet(frozenset(c)))

    def escape(self) -> CharSet:
        c = self.take()
        if c == "d":
            return CharSet(_DIGITS)
        if c == "D":
            return CharSet(_DIGITS, True)
        if c and not c.isalnum():
            return CharSet(frozenset(c))
        raise Unsupported(f"escape \\{c}")

    def klass(self) -> CharSet:
        negated = self.peek() == "^"
        if negated:
            self.take()
        chars: set[str] = set()
        first = True
        while True:
            c = self.take()
            if not c:
                raise Unsupported("unterminated [")
            if c == "]" and not first:
                break
            first = False
            if c == "\\":
                chars |= self.escape().chars
                continue
            if self.peek() == "-" and self.i + 1 < len(self.s) and self.s[self.i + 1] != "]":
                self.take()
                end = self.take()
                chars |= {chr(x) for x in range(ord(c), ord(end) + 1)}
            else:
                chars.add(c)
        return CharSet(frozenset(chars), negated)

    def quantified(self, node):
        while True:
            c = self.peek()
            if c == "*":
                lo, hi = 0, None
            elif c == "+":
                lo, hi = 1, None
            elif c == "?":
                lo, hi = 0, 1
            elif c == "{":
                end = self.s.find("}", self.i)
                spec = self.s[self.i + 1:end] if end > 0 else ""
                parts = spec.split(",")
                if not spec or len(parts) > 2 or not all(p.isdigit() for p in parts if p) \
                        or not parts[0]:
                    return node  # PCRE treats a malformed brace as a literal; so do we not
                lo = int(parts[0])
                hi = lo if len(parts) == 1 else (int(parts[1]) if parts[1] else None)
                self.i = end
            else:
                return node
            self.take()
            if self.peek() in "?+":  # lazy / possessive: same language
                self.take()
            node = ("rep", node, lo, hi)


# --- NFA

class _Nfa:
    def __init__(self):
        self.edges: list[list[tuple[object, int]]] = []

    def state(self) -> int:
        self.edges.append([])
        return len(self.edges) - 1

    def build(self, node) -> tuple[int, int]:
        kind = node[0]
        if kind == "set":
            a, b = self.state(), self.state()
            self.edges[a].append((node[1], b))
            return a, b
        if kind in ("bol", "eol"):
            a, b = self.state(), self.state()
            self.edges[a].append((kind, b))
            return a, b
        if kind == "cat":
            a = b = self.state()
            for item in node[1]:
                s, e = self.build(item)
                self.edges[b].append(("eps", s))
                b = e
            return a, b
        if kind == "alt":
            a, b = self.state(), self.state()
            for branch in node[1]:
                s, e = self.build(branch)
                self.edges[a].append(("eps", s))
                self.edges[e].append(("eps", b))
            return a, b
        if kind == "rep":
            _, sub, lo, hi = node
            a = b = self.state()
            for _ in range(lo):
                s, e = self.build(sub)
                self.edges[b].append(("eps", s))
                b = e
            if hi is None:
                s, e = self.build(sub)
                self.edges[b].append(("eps", s))
                self.edges[e].append(("eps", b))
            else:
                end = self.state()
                self.edges[b].append(("eps", end))
                for _ in range(hi - lo):
                    s, e = self.build(sub)
                    self.edges[b].append(("eps", s))
                    self.edges[e].append(("eps", end))
                    b = e
                b = end
            return a, b
        raise AssertionError(kind)


# --- finite languages: what an anchored expression without * + or negated classes matches

FINITE_LIMIT = 200_000  # strings; beyond that a language is treated as if it were infinite


def _size(node) -> int | None:
    """How many strings (with repetitions) `node` spells, or None when it is unbounded or uses
    something `_spell` does not (a negated class, an anchor inside)."""
    kind = node[0]
    if kind == "set":
        cs = node[1]
        return None if cs.negated else len(cs.chars)
    if kind == "cat":
        n = 1
        for item in node[1]:
            m = _size(item)
            if m is None:
                return None
            n *= m
            if n > FINITE_LIMIT:
                return None
        return n
    if kind == "alt":
        sizes = [_size(b) for b in node[1]]
        return None if None in sizes else sum(sizes)
    if kind == "rep":
        _, sub, lo, hi = node
        m = _size(sub)
        if m is None or hi is None:
            return None
        total = sum(m ** k for k in range(lo, hi + 1)) if m > 1 else hi - lo + 1
        return total if total <= FINITE_LIMIT else None
    return None  # bol/eol inside the expression


def _spell(node) -> set[str]:
    kind = node[0]
    if kind == "set":
        return set(node[1].chars)
    if kind == "cat":
        out = {""}
        for item in node[1]:
            tails = _spell(item)
            out = {a + b for a in out for b in tails}
        return out
    if kind == "alt":
        return set().union(*(_spell(b) for b in node[1]))
    _, sub, lo, hi = node  # rep
    one = _spell(sub)
    out, layer = set(), {""}
    for k in range(hi + 1):
        if k >= lo:
            out |= layer
        if k < hi:
            layer = {a + b for a in layer for b in one}
    return out


class Language:
    """The set of strings a dialplan expression matches (PCRE search semantics: an expression
    not anchored with ^ / $ matches anywhere in the string)."""

    def __init__(self, expression: str):
        self.expression = expression
        self.tree = _Parser(expression).parse()
        self._nfa = None

    @property
    def nfa(self) -> _Nfa:
        if self._nfa is None:
            wrapped = ("cat", [("rep", ("set", ANY), 0, None), self.tree,
                               ("rep", ("set", ANY), 0, None)])
            self._nfa = _Nfa()
            self.start, self.final = self._nfa.build(wrapped)
        return self._nfa

    def strings(self) -> frozenset[str] | None:
        """Every string the expression matches when that is a finite set of at most
        FINITE_LIMIT (an expression anchored at both ends, `^...$`, with no `* +`, open `{m,}`
        or negated class), else None. A dialplan's numbers are such sets: comparing them is a
        set lookup, where `common` is a product of two automata."""
        node = self.tree
        if isinstance(node, tuple) and node[0] == "cat":
            items = node[1]
            if (len(items) >= 2 and items[0] == ("bol",) and items[-1] == ("eol",)
                    and _size(("cat", items[1:-1])) is not None):
                return frozenset(_spell(("cat", items[1:-1])))
        return None

    def matches(self, text: str) -> bool:
        """Whether the expression matches `text` (for one string: no automaton needed)."""
        return re.search(self.expression, text) is not None

    def common(self, other: "Language") -> str | None:
        """A shortest string both match, or None when they match nothing in common."""
        A, B = self.nfa.edges, other.nfa.edges
        start = (self.start, other.start, False, False, False)
        parent: dict[tuple, tuple | None] = {start: None}
        queue = deque([start])

        def visit(state, prev, char):
            if state not in parent:
                parent[state] = (prev, char)
                queue.append(state)

        while queue:
            st = queue.popleft()
            a, b, consumed, ea, eb = st
            if a == self.final and b == other.final:
                chars = []
                while parent[st] is not None:
                    st, ch = parent[st]
                    if ch:
                        chars.append(ch)
                return "".join(reversed(chars))
            for label, t in A[a]:
                if label == "eps" or (label == "bol" and not consumed):
                    visit((t, b, consumed, ea, eb), st, "")
                elif label == "eol":
                    visit((t, b, consumed, True, eb), st, "")
            for label, t in B[b]:
                if label == "eps" or (label == "bol" and not consumed):
                    visit((a, t, consumed, ea, eb), st, "")
                elif label == "eol":
                    visit((a, t, consumed, ea, True), st, "")
            if ea or eb:
                continue
            for la, ta in A[a]:
                if not isinstance(la, CharSet):
                    continue
                for lb, tb in B[b]:
                    if isinstance(lb, CharSet):
                        ch = la.meet(lb)
                        if ch is not None:
                            visit((ta, tb, True, False, False), st, ch)
        return None
