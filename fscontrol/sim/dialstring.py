"""Parse FreeSWITCH dial strings: `{global vars}[per-leg vars]endpoint`, `,` rings legs at once,
`|` tries groups in turn. Quirk reproduced from s12b: inside `{...}` an unquoted space ends the
variable block early, so the rest becomes part of the endpoint and the originate fails."""
from __future__ import annotations


class Leg:
    def __init__(self, endpoint, vars):
        self.endpoint = endpoint
        self.vars = vars

    def __repr__(self):
        return "Leg(%r, %r)" % (self.endpoint, self.vars)


def split_outside(text, sep, quotes="'", nest=("{[(", "}])")):
    parts, depth, cur, q = [], 0, [], None
    for ch in text:
        if q:
            cur.append(ch)
            if ch == q:
                q = None
            continue
        if ch in quotes:
            q = ch
            cur.append(ch)
        elif ch in nest[0]:
            depth += 1
            cur.append(ch)
        elif ch in nest[1]:
            depth -= 1
            cur.append(ch)
        elif ch == sep and depth <= 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def parse_vars(block):
    out = {}
    for item in split_outside(block, ",", nest=("", "")):
        if not item.strip():
            continue
        k, _, v = item.partition("=")
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] == "'":
            v = v[1:-1]
        out[k.strip()] = v
    return out


def _take_block(text, open_, close):
    """Return (inner, rest) when text starts with a block, else (None, text)."""
    if not text.startswith(open_):
        return None, text
    q = None
    for i, ch in enumerate(text):
        if q:
            if ch == q:
                q = None
        elif ch == "'":
            q = ch
        elif ch == close:
            return text[1:i], text[i + 1:]
    return None, text


def parse(dialstring):
    """-> list of groups (tried in turn), each a list of Leg rung at once."""
    text = dialstring.strip()
    global_vars = {}
    inner, rest = _take_block(text, "{", "}")
    if inner is not None:
        global_vars = parse_vars(inner)
        text = rest
    groups = []
    for group_text in split_outside(text, "|"):
        legs = []
        for leg_text in split_outside(group_text, ","):
            leg_text = leg_text.strip()
            leg_vars = dict(global_vars)
            while True:
                inner, rest = _take_block(leg_text, "[", "]")
                if inner is None:
                    break
                leg_vars.update(parse_vars(inner))
                leg_text = rest.strip()
            if leg_text:
                legs.append(Leg(leg_text, leg_vars))
        if legs:
            groups.append(legs)
    return groups


def split_originate_args(arg):
    """`originate <dialstring> <&app(args)|exten [dialplan] [context] [cid_name] [cid_num] [timeout]>`.
    The dial string ends at the first space outside quotes, exactly as FreeSWITCH's argv split does
    (this is what makes s12b's unquoted space fail)."""
    parts, cur, q = [], [], None
    for ch in arg.strip():
        if q:
            cur.append(ch)
            if ch == q:
                q = None
        elif ch == "'":
            q = ch
            cur.append(ch)
        elif ch == " " and not (cur and cur[0] == "&" and "(" in "".join(cur) and not "".join(cur).endswith(")")):
            if cur:
                parts.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        parts.append("".join(cur))
    return parts
