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
directory and the dial string allow `$${name}` only). Anything else is refused with its key
path. User names and orbit range names never reach the XML (extensions are named after their
numbers).

Other config values reach the switch in ESL commands the controller sends (`command_problems`,
also run by the config loader): the prompts (`sendmsg ... execute-app-arg`), the hold music
(`uuid_broadcast`), user names (caller ids, presence), the dial string (the ring-back's
`originate`) and the fallbacks (`uuid_transfer ... inline`). FreeSWITCH expands `${...}` in
what an application runs with, so none of them may hold `${` at all; and each must be
something `fscontrol.esl.commands` can send (a dial string: one endpoint, a prefix of allowed
variables only)."""

from __future__ import annotations

import re

from ..config.model import Config
from ..esl.commands import InvalidArgument, check_broadcast_path, expand_dial, operator_dial

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


PROMPTS = ("prompt_no_orbit", "prompt_empty_orbit", "prompt_error", "prompt_disconnect")


def _expansion_problem(value: str) -> str | None:
    if "${" in value:
        return (f'"{value}" contains "${{": FreeSWITCH expands it when the command runs, and an '
                f'API call such as ${{system(...)}} would run a shell command; no variable or API '
                f'call is allowed here')
    return None


def user_dial_problem(template: str, sample_ext: str = "1000") -> str | None:
    """Why the controller could not dial a user with `switch.user_dial_string`, or None. Quotes
    the config value, never the expanded text."""
    if re.search(r"(?<!\$)\$\{", template):
        return (f'"{template}": ${{...}} is refused here: the ring-back is sent with no calling '
                f'channel to expand it from, and an API call such as ${{system(...)}} would run a '
                f'command (API calls are refused); write {{domain}}, or $${{name}} for a global '
                f'variable of the switch')
    why = dollar_problem(template, channel_vars=False)
    if why:
        return why
    try:
        operator_dial(expand_dial(template, ext=sample_ext, domain="domain.invalid",
                                  global_var=lambda name: "value"), "dial string")
    except InvalidArgument as e:
        reason = str(e).removeprefix("dial string: ")
        for sep, what in ((",", "rings several phones at once"), ("|", "tries phones in turn")):
            if reason.startswith(f"contains '{sep}'"):
                return (f'"{template}" has a "{sep}", which {what}: a ring-back rings one phone, '
                        f'so write one endpoint')
        return f'"{template}" cannot be dialled: {reason}'
    return None


def fallback_dial_problem(target: str) -> str | None:
    """Why a fallback dial string (one with "/") cannot be sent, or None (its `$`, spaces and
    commas are the config loader's rules)."""
    try:
        operator_dial(expand_dial(target, domain="domain.invalid"), "fallback")
    except InvalidArgument as e:
        reason = str(e).removeprefix("fallback: ").removeprefix("dial string: ")
        return f'"{target}" cannot be dialled: {reason}'
    return None


def command_problems(config: Config) -> list[tuple[str, str]]:
    """`(key path, message)` for each config value that cannot safely reach an ESL command."""
    out: list[tuple[str, str]] = []
    p = config.park
    for key in PROMPTS:
        why = _expansion_problem(getattr(p, key))
        if why:
            out.append((f"park.{key}", why))
    music = [("park.music", p.music)] + [(f"orbits[{i}].music", r.music)
                                          for i, r in enumerate(config.orbits) if r.music]
    for key, value in music:
        why = _expansion_problem(value)
        if why is None:
            try:
                check_broadcast_path("path", value)
            except InvalidArgument as e:
                why = (f'"{value}" cannot be played as hold music (uuid_broadcast): '
                       f'{str(e).removeprefix("path: ")}')
        if why:
            out.append((key, why))
    for key in ("prompt_nothing_ringing", "prompt_refused"):
        why = _expansion_problem(getattr(config.pickup, key))
        if why:
            out.append((f"pickup.{key}", why))
    for i, u in enumerate(config.users):
        why = _expansion_problem(u.name)
        if why:
            out.append((f"users[{i}].name", why))
    why = user_dial_problem(config.switch.user_dial_string,
                            config.users[0].extension if config.users else "1000")
    if why:
        out.append(("switch.user_dial_string", why))
    fallbacks = [("park.fallback", p.fallback)] + [(f"orbits[{i}].fallback", r.fallback)
                                                   for i, r in enumerate(config.orbits)]
    for key, target in fallbacks:
        if target and "/" in target and "$" not in target:
            why = fallback_dial_problem(target)
            if why:
                out.append((key, why))
    return out


def problems(config: Config) -> list[tuple[str, str]]:
    """`(key path, message)` for each config string that cannot be rendered or sent safely."""
    out: list[tuple[str, str]] = command_problems(config)
    s = config.switch
    if not CONTEXT.fullmatch(s.context):
        out.append(("switch.context", f'"{s.context}" must be 1 to 64 of letters, digits, _ . -'))
    if not DOMAIN.fullmatch(s.domain):
        out.append(("switch.domain", f'"{s.domain}" must be a host name, or exactly $${{name}} '
                                     f'or ${{name}}'))
    for key, value, channel_vars in (("switch.user_dial_string", s.user_dial_string, False),
                                     *((f"music_classes[{i}].directory", m.directory, False)
                                       for i, m in enumerate(config.music_classes))):
        why = dollar_problem(value, channel_vars)
        if why and not any(k == key for k, _ in out):
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
