"""The XML dialplan hunt of mod_dialplan_xml: contexts of extensions of conditions; `$1..$9` are
substituted while hunting, `${var}` when the action runs, `inline="true"` actions run during the hunt."""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

from ..errors import FscontrolError


class Condition:
    def __init__(self, field, expression, brk, actions, anti_actions):
        self.field, self.expression, self.brk = field, expression, brk
        self.actions, self.anti_actions = actions, anti_actions


class Extension:
    def __init__(self, name, cont, conditions):
        self.name, self.cont, self.conditions = name, cont, conditions


# caller-profile fields a condition may name directly
_PROFILE_FIELDS = {
    "destination_number": lambda ch: ch.dest,
    "caller_id_number": lambda ch: ch.cid_num,
    "caller_id_name": lambda ch: ch.cid_name,
    "ani": lambda ch: ch.ani,
    "context": lambda ch: ch.context,
    "uuid": lambda ch: ch.uuid,
    "chan_name": lambda ch: ch.name,
    "source": lambda ch: ch.source,
    "network_addr": lambda ch: "127.0.0.1",
    "dialplan": lambda ch: "XML",
}


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise DialplanSourceError(f"dialplan {path}: cannot read: {getattr(e, 'strerror', None) or e}") from None


def _raise(err):
    raise DialplanSourceError(f"dialplan {err.filename}: cannot read: {err.strerror}")


def _extension(ext):
    conds = [Condition(c.get("field"), c.get("expression"), c.get("break", "on-false"),
                       _actions(c, "action"), _actions(c, "anti-action"))
             for c in ext.findall("condition")]
    return Extension(ext.get("name", ""), ext.get("continue", "false") == "true", conds)


def _actions(elem, tag):
    return [(a.get("application", ""), a.get("data", ""), a.get("inline", "false").lower() == "true")
            for a in elem.findall(tag)]


class DialplanSourceError(FscontrolError):
    """A dialplan source is missing, unreadable, malformed or holds no extension at all."""

    id = "sim-dialplan"


class Dialplan:
    def __init__(self):
        self.contexts = {}

    def clear(self):
        self.contexts = {}

    def load(self, source, context="default"):
        """source: an XML string, a file, or a directory of *.xml files (recursively) -> the number
        of extensions loaded. Extensions outside any <context> (the rendered fscontrol dialplan, an
        <include> the operator puts inside a context) go into `context`, as
        fscontrol.render.render.in_context places them. In a directory, files without <context> or
        <extension> (e.g. a local_stream configuration) are skipped. Raises DialplanSourceError for
        a missing, unreadable or malformed source, and when the whole source has no extension."""
        if source is None:
            return 0
        text = str(source)
        if text.lstrip().startswith("<"):
            where, count = "inline XML", self._load_xml(self._parse(text, "inline XML"), context)
        elif os.path.isdir(text):
            where, count = text, 0
            for root, dirs, files in os.walk(text, onerror=_raise):
                dirs.sort()
                for fn in sorted(files):
                    if fn.endswith(".xml"):
                        path = os.path.join(root, fn)
                        count += self._load_xml(self._parse(_read(path), path), context)
        elif os.path.exists(text):
            where, count = text, self._load_xml(self._parse(_read(text), text), context)
        else:
            raise DialplanSourceError(f"dialplan {text}: no such file or directory")
        if count == 0:
            raise DialplanSourceError(f"dialplan {where}: no <extension> found (an XML dialplan: "
                                      f"<extension> elements, in a <context> or not)")
        return count

    @staticmethod
    def _parse(text, where):
        try:
            return ET.fromstring(text)
        except ET.ParseError as e:
            raise DialplanSourceError(f"dialplan {where}: malformed XML: {e}") from None

    def _load_xml(self, root, context):
        """Extensions of every <context> go there, those outside any <context> into `context`."""
        count = 0

        def visit(elem, ctx):
            nonlocal count
            if elem.tag == "extension":
                self.contexts.setdefault(ctx, []).append(_extension(elem))
                count += 1
                return
            if elem.tag == "context":
                ctx = elem.get("name", "default")
                self.contexts.setdefault(ctx, [])
            for child in elem:
                visit(child, ctx)

        visit(root, context)
        return count

    def route(self, ch, exten, context):
        """Hunt `exten` in `context` for channel ch -> [(app, data)] or None when nothing matched."""
        exts = self.contexts.get(context)
        if not exts:
            return None
        saved = ch.dest
        ch.dest = exten
        out, matched_any = [], False
        try:
            for ext in exts:
                proceed, acts = self._hunt_extension(ch, ext)
                if acts:
                    out.extend(acts)
                if proceed:
                    matched_any = True
                    if not ext.cont:
                        break
        finally:
            ch.dest = saved if saved else exten
        return out if matched_any or out else None

    def _field_value(self, ch, field):
        if field.startswith("${") or "$" in field:
            return ch.expand(field)
        getter = _PROFILE_FIELDS.get(field)
        if getter is not None:
            return getter(ch) or ""
        return ch.vars.get(field, "")

    def _hunt_extension(self, ch, ext):
        acts = []
        proceed = False
        for cond in ext.conditions:
            if cond.field is None and cond.expression is None:
                ok, m = True, None
            else:
                value = self._field_value(ch, cond.field or "destination_number")
                expr = cond.expression or ""
                m = re.search(expr, value)
                ok = m is not None
            chosen = cond.actions if ok else cond.anti_actions
            for app, data, inline in chosen:
                data = _captures(data, m)
                if inline:
                    ch.execute(app, ch.expand(data))
                else:
                    acts.append((app, data))
            proceed = ok
            if ok and cond.brk == "on-true":
                break
            if not ok and cond.brk in ("on-false", None, ""):
                break
            if cond.brk == "always":
                break
        return proceed, acts


def _captures(data, m):
    if m is None or "$" not in data:
        return data
    groups = m.groups()

    def sub(mm):
        i = int(mm.group(1))
        return (groups[i - 1] or "") if 0 < i <= len(groups) else ""

    return re.sub(r"\$(\d)", sub, data)
