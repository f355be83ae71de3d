"""Checks on rendered files before anything is written: well-formed XML, nothing FreeSWITCH's
preprocessor would act on, every regex compiles, only allowed `$` forms, and no extension that
another one before it shadows (an orbit nobody can reach is an error)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..errors import RenderError
from . import contract
from .lang import Language, Unsupported

_WRAPPER = {"<include>", "</include>"}
_PREPROCESSOR = re.compile(r"x-pre-process|<include>|</include>|<\?|<!--#", re.I)
# `$` forms a rendered action may hold: preprocessor and channel variables, regex captures.
_ALLOWED_DOLLAR = re.compile(r"\$\$\{[A-Za-z0-9_]+\}|(?<!\$)\$\{[A-Za-z0-9_]+\}|\$[0-9]")


def check(files: dict[str, str]) -> None:
    """Raises RenderError listing every problem found in the rendered `files` (name -> text)."""
    problems: list[tuple[str, str]] = []
    for name, text in files.items():
        problems += _check_file(name, text)
    if problems:
        raise RenderError(problems)


def _check_file(name: str, text: str) -> list[tuple[str, str]]:
    problems = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip() in _WRAPPER:
            continue
        if _PREPROCESSOR.search(line):
            problems.append((f"{name}:{n}", "a line FreeSWITCH's preprocessor would act on or drop"))
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        return problems + [(name, f"not well-formed XML: {e}")]
    if root.tag != "include":
        problems.append((name, f"root element is <{root.tag}>, expected <include>"))
    for elem in root.iter():
        for attr, value in elem.attrib.items():
            if attr == "expression":
                if re.search(r"\$\{", value):
                    problems.append((f"{name}: {_where(elem, root)}", f"expression {value!r} expands a variable"))
                continue
            if "$" in _ALLOWED_DOLLAR.sub("", value):
                problems.append((f"{name}: {_where(elem, root)}",
                                 f'{attr}="{value}" has a "$" FreeSWITCH would expand unexpectedly'))
    if name == contract.DIALPLAN_FILE:
        problems += _check_extensions(name, root)
    elif name == contract.LOCAL_STREAM_FILE:
        seen = set()
        for d in root.findall("directory"):
            if d.get("name") in seen:
                problems.append((name, f'music class "{d.get("name")}" is defined twice'))
            seen.add(d.get("name"))
    return problems


def _where(elem, root) -> str:
    for ext in root.iter("extension"):
        if elem is ext or any(elem is e for e in ext.iter()):
            return f'extension "{ext.get("name")}"'
    return f"<{elem.tag}>"


def _check_extensions(name: str, root) -> list[tuple[str, str]]:
    """Each extension against every earlier one that ends the hunt when it matches. A finite
    expression (every range, user and feature-code extension fscontrol renders) is a set of
    numbers: its numbers are looked up in a table of the earlier finite ones, so the check is
    linear in the numbers, not quadratic in the extensions; only an expression that matches
    unboundedly many strings (`^7\\d+$`, unanchored) is compared with automata."""
    problems = []
    names: set[str] = set()
    owner: dict[str, int] = {}  # number -> position of the first earlier finite extension matching it
    earlier: list[tuple[str, Language, frozenset | None]] = []  # (name, language, its strings)
    unbounded: list[int] = []  # positions in `earlier` of the infinite ones
    for ext in root.iter("extension"):
        ext_name = ext.get("name", "")
        where = f'{name}: extension "{ext_name}"'
        if ext_name in names:
            problems.append((where, "the name is used twice"))
        names.add(ext_name)
        conditions = ext.findall("condition")
        language = None
        for cond in conditions:
            expression = cond.get("expression")
            if expression is None:
                continue
            try:
                re.compile(expression)
            except re.error as e:
                problems.append((where, f"expression {expression!r} does not compile: {e}"))
                continue
            if cond is conditions[0] and cond.get("field") == "destination_number":
                try:
                    language = Language(expression)
                except Unsupported as e:
                    problems.append((where, f"expression {expression!r} cannot be checked for "
                                            f"shadowing: {e}"))
        if language is None:
            continue
        strings = language.strings()
        hit = _first_shadow(language, strings, earlier, owner, unbounded)
        if hit is not None:
            other_name, witness = hit
            problems.append((where, f'never reached for "{witness}": extension '
                                    f'"{other_name}" before it matches that number'))
        if len(conditions) == 1 and ext.get("continue", "false") != "true":
            position = len(earlier)
            earlier.append((ext_name, language, strings))
            if strings is None:
                unbounded.append(position)
            else:
                for s in strings:
                    owner.setdefault(s, position)
    return problems


def _shortest(strings) -> str:
    return min(strings, key=lambda s: (len(s), s))


def _first_shadow(language, strings, earlier, owner, unbounded) -> tuple[str, str] | None:
    """(name, witness) of the first earlier extension matching a string `language` matches."""
    if strings is not None:
        hits = [owner[s] for s in strings if s in owner]
        first = min(hits) if hits else len(earlier)
        for position in unbounded:  # an infinite earlier one before the first finite hit
            if position > first:
                break
            other_name, other, _ = earlier[position]
            witness = language.common(other)
            if witness is not None:
                return other_name, witness
        if hits:
            return earlier[first][0], _shortest(s for s in strings if owner.get(s) == first)
        return None
    for other_name, other, other_strings in earlier:  # infinite: against each earlier one
        if other_strings is None:
            witness = language.common(other)
        else:
            matched = [s for s in other_strings if language.matches(s)]
            witness = _shortest(matched) if matched else None
        if witness is not None:
            return other_name, witness
    return None
