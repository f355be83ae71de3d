"""The XML dialplan hunt of mod_dialplan_xml: contexts of extensions of conditions; `$1..$9` are
substituted while hunting, `${var}` when the action runs, `inline="true"` actions run during the hunt."""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET


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


def _actions(elem, tag):
    return [(a.get("application", ""), a.get("data", ""), a.get("inline", "false").lower() == "true")
            for a in elem.findall(tag)]


class Dialplan:
    def __init__(self):
        self.contexts = {}

    def clear(self):
        self.contexts = {}

    def load(self, source):
        """source: an XML string, a file, or a directory of *.xml files (recursively)."""
        if source is None:
            return
        text = str(source)
        if text.lstrip().startswith("<"):
            self._load_xml(text)
        elif os.path.isdir(text):
            for root, _dirs, files in sorted(os.walk(text)):
                for fn in sorted(files):
                    if fn.endswith(".xml"):
                        with open(os.path.join(root, fn), encoding="utf-8") as f:
                            self._load_xml(f.read())
        else:
            with open(text, encoding="utf-8") as f:
                self._load_xml(f.read())

    def _load_xml(self, text):
        root = ET.fromstring(text)
        contexts = [root] if root.tag == "context" else root.iter("context")
        for ctx in contexts:
            exts = self.contexts.setdefault(ctx.get("name", "default"), [])
            for ext in ctx.findall("extension"):
                conds = []
                for c in ext.findall("condition"):
                    conds.append(Condition(c.get("field"), c.get("expression"), c.get("break", "on-false"),
                                           _actions(c, "action"), _actions(c, "anti-action")))
                exts.append(Extension(ext.get("name", ""), ext.get("continue", "false") == "true", conds))

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
