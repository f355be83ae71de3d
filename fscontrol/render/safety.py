"""Which config strings may reach FreeSWITCH's XML, and in what form.

XML escaping (Jinja autoescape) stops element injection, but FreeSWITCH does two more passes
over the text that escaping does not stop:

- the preprocessor, on the raw file, line by line: it expands `$${name}` anywhere (it has no
  escape), runs any line holding `X-PRE-PROCESS`, drops lines holding `<include>`, `</include>`
  or `<?`;
- channel-variable expansion when an action runs: `${name}` and `${api(args)}` (an API call:
  `${system(...)}` would run a shell command).

So only three kinds of text reach the XML: digits and feature codes (validated by the config
loader), identifiers (context, music class names), and three operator-written FreeSWITCH
values — `switch.domain`, `switch.user_dial_string` and `music_classes[].directory` — in which
the only `$` allowed is a variable reference `$${name}` or `${name}` (no API calls; the
directory allows `$${name}` only). Anything else is refused with its key path. User names and
orbit range names never reach the XML (extensions are named after their numbers)."""

from __future__ import annotations

import re

from ..config.model import Config

CONTEXT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})")
PREPROCESSOR_VAR = r"\$\$\{[A-Za-z0-9_]+\}"
CHANNEL_VAR = r"(?<!\$)\$\{[A-Za-z0-9_]+\}"
DOMAIN = re.compile(rf"{HOST.pattern}|{PREPROCESSOR_VAR}|\$\{{[A-Za-z0-9_]+\}}")
_DANGEROUS_LINE = re.compile(r"x-pre-process|<include>|</include>|<\?", re.I)


def dollar_problem(value: str, channel_vars: bool) -> str | None:
    """Why `value` has a `$` FreeSWITCH would expand in a way we do not allow, or None."""
    allowed = [PREPROCESSOR_VAR] + ([CHANNEL_VAR] if channel_vars else [])
    rest = re.sub("|".join(allowed), "", value)
    if "$" in rest:
        forms = "$${name} or ${name}" if channel_vars else "$${name}"
        return f'"{value}" has a "$" that is not a variable reference {forms} (API calls are refused)'
    return None


def preprocessor_problem(value: str) -> str | None:
    if _DANGEROUS_LINE.search(value):
        return f'"{value}" contains text FreeSWITCH\'s preprocessor acts on (X-PRE-PROCESS, <include>, <?)'
    return None


def problems(config: Config) -> list[tuple[str, str]]:
    """`(key path, message)` for each config string that cannot be rendered safely."""
    out: list[tuple[str, str]] = []
    s = config.switch
    if not CONTEXT.fullmatch(s.context):
        out.append(("switch.context", f'"{s.context}" must be 1 to 64 of letters, digits, _ . -'))
    if not DOMAIN.fullmatch(s.domain):
        out.append(("switch.domain", f'"{s.domain}" must be a host name, or exactly $${{name}} '
                                     f'or ${{name}}'))
    for key, value, channel_vars in (("switch.user_dial_string", s.user_dial_string, True),
                                     *((f"music_classes[{i}].directory", m.directory, False)
                                       for i, m in enumerate(config.music_classes))):
        why = dollar_problem(value, channel_vars)
        if why:
            out.append((key, why))
    for i, r in enumerate(config.orbits):  # a Config built in code skips the loader's Literal check
        if r.kind not in ("park", "pickup"):
            out.append((f"orbits[{i}].kind", f'"{r.kind}" is not "park" or "pickup"'))
    reaching_xml = [("switch.context", s.context), ("switch.domain", s.domain),
                    ("switch.user_dial_string", s.user_dial_string)]
    for i, m in enumerate(config.music_classes):
        reaching_xml += [(f"music_classes[{i}].name", m.name), (f"music_classes[{i}].directory", m.directory)]
    for key, value in reaching_xml:
        why = preprocessor_problem(value)
        if why and not any(k == key for k, _ in out):
            out.append((key, why))
    return out
