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
    problems = []
    names: set[str] = set()
    earlier: list[tuple[str, Language]] = []  # extensions that end the hunt when they match
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
        for other_name, other in earlier:
            witness = language.common(other)
            if witness is not None:
                problems.append((where, f'never reached for "{witness}": extension '
                                        f'"{other_name}" before it matches that number'))
                break
        if len(conditions) == 1 and ext.get("continue", "false") != "true":
            earlier.append((ext_name, language))
    return problems
