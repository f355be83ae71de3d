"""Reads the TOML site configuration into `Config`, collecting every problem with its key path."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import ssl
import string
import tomllib
import types
import typing
from pathlib import Path

from ..errors import ConfigError
from . import numbers
from .model import Config, Secret

# Secrets may come from the environment instead of the file (and then win over it).
SECRET_ENV = {
    ("switch", "esl_password"): "FSCONTROL_ESL_PASSWORD",
    ("database", "url"): "DATABASE_URL",
    ("smtp", "password"): "FSCONTROL_SMTP_PASSWORD",
}

EXTENSION = re.compile(r"[0-9]{2,9}")
FEATURE_CODE = re.compile(r"[*#][0-9*#]{1,8}")
DTMF_CODE = re.compile(r"\*[0-9]")
MUSIC_CLASS = re.compile(r"[A-Za-z0-9_.-]{1,64}(?:/[0-9]{4,5})?")
MUSIC_RATES = (8000, 16000, 32000, 48000)
SWITCH_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")

_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", Secret: "a string"}


def _describe(value) -> str:
    """What a TOML value is, spelled as in TOML (`boolean true`, not Python's True), for messages."""
    kind = {str: "string", bool: "boolean", int: "integer", float: "number",
            list: "array", dict: "table"}.get(type(value), type(value).__name__)
    if kind == "boolean":
        return f"boolean {'true' if value else 'false'}"
    return f"{kind} {value!r}" if kind in ("string", "integer", "number") else kind


class _Builder:
    """Turns plain TOML data into the frozen dataclasses of `model`, recording problems."""

    def __init__(self):
        self.problems: list[tuple[str, str]] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def build(self, cls, data, path: str):
        if not isinstance(data, dict):
            self.problem(path, f"expected a table, got {_describe(data)}")
            return None
        hints = _hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in data:
            if key not in fields:
                known = ", ".join(sorted(fields))
                self.problem(_join(path, key), f"unknown key (known keys: {known})")
        values = {}
        for name, f in fields.items():
            if name in data:
                value = self.value(hints[name], data[name], _join(path, name))
                if value is not _BAD:
                    values[name] = value
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                self.problem(_join(path, name), "missing (required)")
                return None
        try:
            return cls(**values)
        except TypeError:  # a required field was bad
            return None

    def value(self, hint, raw, path):
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):  # X | None: None is only the default
            return self.value(next(a for a in args if a is not type(None)), raw, path)
        if origin is typing.Literal:
            if raw not in args:
                choices = " or ".join(f'"{a}"' for a in args)
                self.problem(path, f"{_describe(raw)} is not one of {choices}")
                return _BAD
            return raw
        if origin is tuple and typing.get_origin(args[0]) is tuple:
            # a tuple of (name, value) pairs is written as a TOML table (an attendant's keys)
            if not isinstance(raw, dict):
                self.problem(path, f"expected a table, got {_describe(raw)}")
                return _BAD
            pairs = [(k, self.value(typing.get_args(args[0])[1], v, f'{path}."{k}"'))
                     for k, v in raw.items()]
            return tuple((k, v) for k, v in pairs if v is not _BAD)
        if origin is tuple:
            if not isinstance(raw, list):
                self.problem(path, f"expected an array, got {_describe(raw)}")
                return _BAD
            items = [self.value(args[0], item, f"{path}[{i}]") for i, item in enumerate(raw)]
            return tuple(i for i in items if i is not _BAD and i is not None)
        if dataclasses.is_dataclass(hint):
            return self.build(hint, raw, path)
        wrap = hint is Secret
        if wrap:
            hint = str
        # bool is a subclass of int in Python; TOML keeps them apart and so do we.
        if type(raw) is not hint:
            got = type(raw).__name__ if wrap else _describe(raw)  # never echo a secret's value
            self.problem(path, f"expected {_TYPE_NAMES.get(hint, hint.__name__)}, got {got}")
            return _BAD
        if isinstance(raw, str) and any(c in raw for c in "\r\n\x00"):
            self.problem(path, "contains a line break or NUL")
            return _BAD
        return Secret(raw) if wrap else raw


_BAD = object()


@functools.cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def parse(data: dict, env: typing.Mapping[str, str] | None = None, source: str = "") -> Config:
    """Builds and validates a Config from TOML data; raises ConfigError listing every problem."""
    env = os.environ if env is None else env
    data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for (table, key), var in SECRET_ENV.items():
        if env.get(var):
            section = data.setdefault(table, {})
            if isinstance(section, dict):
                section[key] = env[var]
    builder = _Builder()
    config = builder.build(Config, data, "")
    if config is not None and not builder.problems:
        builder.problems.extend(validate(config))
        from ..render.safety import command_problems  # (render imports this module)
        found = {key for key, _ in builder.problems}
        builder.problems.extend(pr for pr in command_problems(config) if pr[0] not in found)
    if builder.problems or config is None:
        raise ConfigError(builder.problems or [("", "invalid configuration")], source)
    return config


def load(path: str | os.PathLike, env: typing.Mapping[str, str] | None = None) -> Config:
    """Reads and validates a TOML file; every failure is a ConfigError naming the file."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError([("", f"config file {path} not found")]) from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise ConfigError([("", f"cannot read config file {path}: {reason}")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([("", f"{path} is not valid TOML: {e}")]) from None
    return _relative_to(parse(data, env, str(path)), path.absolute().parent)


def _relative_to(config: Config, base: Path) -> Config:
    """Relative directories in a config file are relative to the file, not to wherever the
    command happens to run (`cd sub && fscontrol parked -c ../site.toml` must find the same
    embedded database as `fscontrol run`)."""
    def resolve(value: str) -> str:
        return value if not value or Path(value).is_absolute() else str(base / value)
    return dataclasses.replace(
        config,
        switch=dataclasses.replace(config.switch, conf_dir=resolve(config.switch.conf_dir)),
        database=dataclasses.replace(config.database,
                                     embedded_dir=resolve(config.database.embedded_dir)),
        voicemail=dataclasses.replace(config.voicemail, storage=resolve(config.voicemail.storage)))


def validate(config: Config) -> list[tuple[str, str]]:
    """Cross-field rules (Lync's orbit rules, timer ranges, collisions); `(key path, message)` each."""
    problems: list[tuple[str, str]] = []
    p = problems.append
    s = config.switch
    if s.name and not SWITCH_NAME.fullmatch(s.name):
        p(("switch.name", f'"{s.name}" must be 1 to 64 letters, digits, . _ - : starting with a '
                          f'letter or digit (empty: "esl_host:esl_port")'))
    if not 1 <= s.esl_port <= 65535:
        p(("switch.esl_port", f"{s.esl_port} is not a TCP port (1-65535)"))
    if not s.conf_dir.strip():
        p(("switch.conf_dir", "must not be empty (the FreeSWITCH conf dir, e.g. /etc/freeswitch)"))
    url_problem = _database_url_problem(config.database.url.reveal())
    if url_problem:
        p(("database.url", url_problem))
    if not config.database.embedded_dir.strip():
        p(("database.embedded_dir", "must not be empty"))
    if not 1 <= config.ha.step_down_after <= 60:
        p(("ha.step_down_after", f"{config.ha.step_down_after} is outside 1-60 seconds"))
    if "{ext}" not in s.user_dial_string:
        p(("switch.user_dial_string", f'"{s.user_dial_string}" has no {{ext}} placeholder'))
    _check_timing(p, "park", config.park.timeout, config.park.max_attempts)
    if not 5 <= config.park.ringback_timeout <= 300:
        p(("park.ringback_timeout", f"{config.park.ringback_timeout} is outside 5-300 seconds"))
    if not DTMF_CODE.fullmatch(config.park.dtmf_code):
        p(("park.dtmf_code", f'"{config.park.dtmf_code}" must be * followed by one digit'))
    for key in ("prompt_no_orbit", "prompt_empty_orbit", "prompt_error", "prompt_disconnect"):
        if not getattr(config.park, key).strip():
            p((f"park.{key}", "must not be empty (a sound file or tone_stream://...)"))
    if not re.fullmatch(r"[a-z]{2,3}", config.park.say_language):
        p(("park.say_language", f'"{config.park.say_language}" is not a language code like "en"'))
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", config.park.presence_proto):
        p(("park.presence_proto", f'"{config.park.presence_proto}" must be a word like "park" or "sip"'))
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", config.pickup.presence_proto):
        p(("pickup.presence_proto", f'"{config.pickup.presence_proto}" must be a word like "pickup"'))
    if config.park.presence_domain and not re.fullmatch(r"[A-Za-z0-9.-]+", config.park.presence_domain):
        p(("park.presence_domain", f'"{config.park.presence_domain}" is not a domain name'))
    codes = config.feature_codes()
    for key, code in codes.items():
        if not FEATURE_CODE.fullmatch(code):
            p((key, f'"{code}" must be * or # followed by 1 to 8 of 0-9 * #'))

    users: dict[str, int] = {}
    for i, user in enumerate(config.users):
        if not EXTENSION.fullmatch(user.extension):
            p((f"users[{i}].extension", f'"{user.extension}" must be 2 to 9 digits'))
        elif user.extension in users:
            p((f"users[{i}].extension", f'"{user.extension}" is also users[{users[user.extension]}]'))
        else:
            users[user.extension] = i

    ranges: list[tuple[int, numbers.NumberRange]] = []
    names: dict[str, int] = {}
    # every rule between ranges, numbers and codes goes through a RangeIndex (sorted intervals):
    # comparing every pair was quadratic, and 3,000 ranges never finished
    for i, r in enumerate(config.orbits):
        where = f"orbits[{i}]"
        if r.name in names:
            p((f"{where}.name", f'"{r.name}" is also orbits[{names[r.name]}]'))
        names.setdefault(r.name, i)
        bad = numbers.range_problems(r.start, r.end)
        for fld, message in bad:
            p((f"{where}.{fld}", message))
        if r.kind == "park":
            _check_timing(p, where, r.timeout, r.max_attempts)
        else:
            for fld in ("music", "music_on_hold", "timeout", "max_attempts", "fallback"):
                if getattr(r, fld) is not None:
                    p((f"{where}.{fld}", 'only a range of kind "park" has this'))
        if bad:
            continue
        ranges.append((i, r.numbers))
    index = numbers.RangeIndex(ranges)
    for i, j in index.overlaps():
        r, o = config.orbits[i], config.orbits[j]
        p((f"orbits[{i}]", f'"{r.start}".."{r.end}" overlaps orbits[{j}] ("{o.start}".."{o.end}")'))
    for key, code in codes.items():
        for i in index.find(code):
            p((f"orbits[{i}]", f'orbit "{code}" collides with feature code {key}'))
    for ext, u in users.items():
        for i in index.find(ext):
            p((f"orbits[{i}]", f'orbit "{ext}" collides with users[{u}].extension'))
    total = sum(r.size for _, r in ranges)
    if total > numbers.MAX_TOTAL:
        p(("orbits", f"{total:,} orbits in all; at most {numbers.MAX_TOTAL:,}"))

    _check_fallback(p, "park.fallback", config.park.fallback, codes, index)
    for i, r in enumerate(config.orbits):
        if r.kind == "park":
            _check_fallback(p, f"orbits[{i}].fallback", r.fallback, codes, index)

    pickup = numbers.RangeIndex((i, rng) for i, rng in ranges if config.orbits[i].kind == "pickup")
    seen: dict[str, int] = {}
    member_of: dict[str, int] = {}
    for i, g in enumerate(config.pickup_groups):
        where = f"pickup_groups[{i}]"
        if not pickup.find(g.number):
            p((f"{where}.number", f'"{g.number}" is in no orbit range of kind "pickup"'))
        if g.number in seen:
            p((f"{where}.number", f'"{g.number}" is also pickup_groups[{seen[g.number]}]'))
        seen.setdefault(g.number, i)
        for k, member in enumerate(g.members):
            if member not in users:
                p((f"{where}.members[{k}]", f'"{member}" is not a users[].extension'))
            elif member in member_of and member_of[member] != i:
                other = member_of[member]
                p((f"{where}.members[{k}]", f'"{member}" is also in pickup_groups[{other}] '
                   f'("{config.pickup_groups[other].number}"): a user is in at most one group'))
            member_of.setdefault(member, i)
        for k, picker in enumerate(g.allowed):
            if picker not in users:
                p((f"{where}.allowed[{k}]", f'"{picker}" is not a users[].extension'))
        if g.allowed and g.pickers != "list":
            p((f"{where}.allowed", 'is used only with pickers = "list"'))
        if g.pickers == "list" and not g.allowed:
            p((f"{where}.allowed", 'pickers = "list" needs the extensions allowed to pick up'))
    msg = config.pickup.message
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(msg)
                  if name is not None]
    except ValueError as e:
        fields = []
        p(("pickup.message", f'"{msg}" is not a valid template: {e}'))
    words = {name for name, _, _ in fields}
    if any(spec or conv for _, spec, conv in fields):
        p(("pickup.message", f'"{msg}": write {{caller}} and {{picker}} plainly, without a '
           f'format spec or conversion'))
    if words - {"caller", "picker"}:
        p(("pickup.message", f'"{msg}" may name only {{caller}} and {{picker}}, not '
           + ", ".join("{%s}" % w for w in sorted(words - {"caller", "picker"}))))
    if "|" in msg or "${" in msg:
        p(("pickup.message", f'"{msg}" must not contain "|" or "${{" (it goes out by the chat API)'))
    classes: dict[str, int] = {}
    for i, mc in enumerate(config.music_classes):
        where = f"music_classes[{i}]"
        if not MUSIC_CLASS.fullmatch(mc.name):
            p((f"{where}.name", f'"{mc.name}" must be letters, digits, _ . - (optionally /rate)'))
        elif mc.name in classes:
            p((f"{where}.name", f'"{mc.name}" is also music_classes[{classes[mc.name]}]'))
        classes.setdefault(mc.name, i)
        if mc.rate not in MUSIC_RATES:
            p((f"{where}.rate", f"{mc.rate} is not one of {', '.join(map(str, MUSIC_RATES))}"))
        if not mc.directory:
            p((f"{where}.directory", "must not be empty"))
    _check_call_via_work(p, config)
    _check_api(p, config)
    _check_voicemail(p, config)
    _check_attendants(p, config, users, codes, index)
    return problems


EMAIL = re.compile(r"[^@\s<>,;\"']+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|[^@\s<>,;\"']+@localhost")


def _check_voicemail(p, config: Config) -> None:
    """[voicemail], [smtp] and users[].email."""
    v = config.voicemail
    if not v.storage.strip():
        p(("voicemail.storage", "must not be empty (the directory the switch records into)"))
    elif any(c in v.storage for c in " ,'\"{}$"):
        p(("voicemail.storage", f'"{v.storage}" must not contain spaces, quotes, braces, "," or "$" '
                                f'(it goes into the record command)'))
    for key, lo, hi in (("ring_timeout", 5, 300), ("max_message", 10, 7200), ("max_greeting", 10, 600),
                        ("min_message", 0, 60), ("silence_seconds", 1, 60),
                        ("silence_threshold", 0, 10000), ("pin_min_length", 4, 24),
                        ("pin_history", 0, 20), ("pin_reset_after", 1, 100),
                        ("pin_lock_after", 1, 1000)):
        value = getattr(v, key)
        if not lo <= value <= hi:
            p((f"voicemail.{key}", f"{value} is outside {lo}-{hi}"))
    if v.pin_lock_after < v.pin_reset_after:
        p(("voicemail.pin_lock_after", f"{v.pin_lock_after} is below voicemail.pin_reset_after "
                                       f"({v.pin_reset_after}): the box would lock before a reset"))
    for f in dataclasses.fields(v):
        if f.name.startswith("prompt_"):
            value = getattr(v, f.name)
            if not value.strip():
                p((f"voicemail.{f.name}", "must not be empty (a sound file or tone_stream://...)"))
            elif any(c in value for c in " '\"{}") or "${" in value:
                p((f"voicemail.{f.name}", f'"{value}" must not contain spaces, quotes or braces'))
    for key, code in config.feature_codes().items():
        if v.pilot and key != "voicemail.pilot" and code == v.pilot:
            p(("voicemail.pilot", f'"{v.pilot}" is also {key}'))
    if not re.fullmatch(r"[a-z]{2,3}", v.say_language):
        p(("voicemail.say_language", f'"{v.say_language}" is not a language code like "en"'))
    try:
        v.email_subject.format(caller="x", duration=1, box="1", time="t")
    except (KeyError, IndexError, ValueError) as e:
        p(("voicemail.email_subject", f'"{v.email_subject}" may name only {{caller}}, {{duration}}, '
                                      f'{{box}} and {{time}} ({e})'))
    s = config.smtp
    if s.host and not re.fullmatch(r"[A-Za-z0-9.:-]+", s.host):
        p(("smtp.host", f'"{s.host}" is not a host name or address'))
    if not 1 <= s.port <= 65535:
        p(("smtp.port", f"{s.port} is not a TCP port (1-65535)"))
    if not EMAIL.fullmatch(s.sender):
        p(("smtp.sender", f'"{s.sender}" is not an email address'))
    if s.password and not s.user:
        p(("smtp.user", "is empty but a password is set (FSCONTROL_SMTP_PASSWORD or smtp.password)"))
    if s.ca_file:
        if not os.path.isabs(s.ca_file):
            p(("smtp.ca_file", f'"{s.ca_file}" must be an absolute path'))
        elif not os.path.isfile(s.ca_file) or not os.access(s.ca_file, os.R_OK):
            p(("smtp.ca_file", f'"{s.ca_file}" does not exist or is not a readable file'))
        else:
            try:
                ssl.create_default_context(cafile=s.ca_file)
            except (ssl.SSLError, ValueError, OSError) as e:
                p(("smtp.ca_file", f'"{s.ca_file}" holds no PEM CA certificate ({e})'))
        if s.security == "none":
            p(("smtp.ca_file", 'is set but smtp.security is "none" (no TLS to verify)'))
    if not 1 <= s.timeout <= 300:
        p(("smtp.timeout", f"{s.timeout} is outside 1-300 seconds"))
    if not 1 <= s.retry_first <= s.retry_max:
        p(("smtp.retry_first", f"{s.retry_first} must be 1 to smtp.retry_max ({s.retry_max})"))
    if s.give_up_after < s.retry_first:
        p(("smtp.give_up_after", f"{s.give_up_after} is below smtp.retry_first"))
    for i, user in enumerate(config.users):
        if user.email and not EMAIL.fullmatch(user.email):
            p((f"users[{i}].email", f'"{user.email}" is not an email address'))
        if user.email and not s.host:
            p((f"users[{i}].email", "is set but smtp.host is empty: no mail could be sent"))


CALLER_ID_NUMBER = re.compile(r"\+?[0-9]{1,20}")
CALLBACK_NUMBER = re.compile(r"\+?[0-9*#]{2,32}")
CONFERENCE_PROFILE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# what a caller-ID name cannot carry: `{}` blocks and inline dialplans break on , { } [ ] ' and
# the switch expands ${; a SIP phone shows only what follows the last ":" (live run of
# 2026-12-01, baresip on mod_sofia); quotes end the SIP display name
_CALLER_ID_NAME_BAD = re.compile(r"[:,{}\[\]'\"|^()\\$\x00-\x1f\x7f]")


def _check_call_via_work(p, config: Config) -> None:
    """[call_via_work] and users[].callback: every value the service sends in an originate or a
    bridge's dial string must be sendable as it is (fscontrol.esl.commands would refuse it at
    call time otherwise), and the numbers and timers must make sense."""
    from ..esl.commands import InvalidArgument, expand_dial, operator_dial, quote_var_value
    c = config.call_via_work
    w = "call_via_work"
    if c.enabled and not c.destinations:
        p((f"{w}.destinations", "is empty: no destination could be called (list regular "
                                "expressions, or set enabled = false)"))
    for i, pattern in enumerate(c.destinations):
        try:
            re.compile(pattern)
        except re.error as e:
            p((f"{w}.destinations[{i}]", f'"{pattern}" is not a regular expression: {e}'))
    if not 1 <= c.rate_limit <= 1000:
        p((f"{w}.rate_limit", f"{c.rate_limit} is outside 1-1000 calls a minute"))
    if not 5 <= c.user_timeout <= 300:
        p((f"{w}.user_timeout", f"{c.user_timeout} is outside 5-300 seconds"))
    if not 5 <= c.destination_timeout <= 600:
        p((f"{w}.destination_timeout", f"{c.destination_timeout} is outside 5-600 seconds"))
    if c.caller_id_number and not CALLER_ID_NUMBER.fullmatch(c.caller_id_number):
        p((f"{w}.caller_id_number", f'"{c.caller_id_number}" must be digits, optionally after a '
                                    f'"+" (at most 20)'))
    if not c.caller_id_name.strip():
        p((f"{w}.caller_id_name", "must not be empty (what the user's phone shows while it rings)"))
    elif len(c.caller_id_name) > 64:
        p((f"{w}.caller_id_name", f"is {len(c.caller_id_name)} characters long; at most 64"))
    else:
        bad = _CALLER_ID_NAME_BAD.search(c.caller_id_name)
        if bad:
            why = (" (a SIP phone shows only what follows the last \":\")" if bad.group() == ":"
                   else "")
            p((f"{w}.caller_id_name", f'"{c.caller_id_name}" contains {bad.group()!r}{why}; use '
                                      f'letters, digits, spaces and - . / & + _'))
    for key in ("prompt_busy", "prompt_no_answer", "prompt_failed"):
        value = getattr(c, key)
        if not value.strip():
            p((f"{w}.{key}", "must not be empty (a sound file or tone_stream://...)"))
        elif "${" in value:
            p((f"{w}.{key}", f'"{value}" contains "${{": the switch would expand it (API calls '
                             f'such as ${{system(...)}} included)'))
    if c.hold_music:
        try:
            quote_var_value("hold_music", c.hold_music)
        except InvalidArgument as e:
            p((f"{w}.hold_music", f'"{c.hold_music}" cannot be set on the call: '
                                  f'{str(e).removeprefix("hold_music: ")}'))
    if not CONFERENCE_PROFILE.fullmatch(c.conference_profile):
        p((f"{w}.conference_profile", f'"{c.conference_profile}" must be 1 to 64 of letters, '
                                      f'digits, _ . -'))
    dial = c.destination_dial_string
    if "{number}" not in dial:
        p((f"{w}.destination_dial_string", f'"{dial}" has no {{number}} placeholder'))
    elif re.search(r"(?<!\$)\$\{", dial) or re.search(r"\$(?!\$\{)", re.sub(r"\$\$\{", "", dial)):
        p((f"{w}.destination_dial_string", f'"{dial}": only $${{name}} (a global variable of the '
                                           f'switch) may hold a "$"; ${{...}} is refused'))
    else:
        try:
            operator_dial(expand_dial(dial, number="1000", context="default",
                                      domain="domain.invalid", global_var=lambda name: "value"),
                          "dial string")
        except InvalidArgument as e:
            p((f"{w}.destination_dial_string", f'"{dial}" cannot be dialled: '
                                               f'{str(e).removeprefix("dial string: ")}'))
    orbits = numbers.RangeIndex((i, r.numbers) for i, r in enumerate(config.orbits)
                                if not numbers.range_problems(r.start, r.end))
    codes = config.feature_codes()
    for i, user in enumerate(config.users):
        cb = user.callback
        where = f"users[{i}].callback"
        if not cb:
            continue
        if "/" in cb:
            if "$" in cb:
                p((where, f'"{cb}" has a "$": write {{ext}} for the user\'s extension and '
                          f'{{domain}} for the switch\'s domain; other variables are not expanded'))
            elif re.search(r"\s", cb):
                p((where, f'"{cb}": a dial string has no spaces'))
            else:
                try:
                    operator_dial(expand_dial(cb, ext=user.extension, domain="domain.invalid"),
                                  "dial string")
                except InvalidArgument as e:
                    p((where, f'"{cb}" cannot be dialled: {str(e).removeprefix("dial string: ")}'))
            continue
        if not CALLBACK_NUMBER.fullmatch(cb):
            p((where, f'"{cb}" is not an extension, a number (digits, * #, an optional leading +) '
                      f'or a dial string like "user/1005@{{domain}}"'))
            continue
        for key, code in codes.items():
            if cb == code:
                p((where, f'"{cb}" is {key}: the callback would run that feature'))
        for k in orbits.find(cb):
            p((where, f'"{cb}" is an orbit of orbits[{k}]: the callback would retrieve or pick '
                      f'up whatever waits there'))


def _check_api(p, config: Config) -> None:
    """[api]: `listen` is host:port, loopback unless `public = true` says otherwise."""
    a = config.api
    if a.listen:
        from ..api.listen import ListenError, parse_listen
        try:
            host, port, loopback = parse_listen(a.listen)
        except ListenError as e:
            p(("api.listen", str(e)))
        else:
            if not loopback and not a.public:
                p(("api.listen", f'"{a.listen}" is not a loopback address: the API (which places '
                                 f'calls) would be reachable from other machines; set '
                                 f'api.public = true to allow it, behind TLS'))
    if not 10 <= a.event_buffer <= 100_000:
        p(("api.event_buffer", f"{a.event_buffer} is outside 10-100000 events"))
    if not 8 <= a.client_queue <= 10_000:
        p(("api.client_queue", f"{a.client_queue} is outside 8-10000 events"))
    if not 1 <= a.heartbeat <= 300:
        p(("api.heartbeat", f"{a.heartbeat} is outside 1-300 seconds"))
    if not 1 <= a.max_streams <= 10_000:
        p(("api.max_streams", f"{a.max_streams} is outside 1-10000 streams"))


SOUND_VARIABLE = re.compile(r"\$\$\{[A-Za-z0-9_]+\}")
ATTENDANT_KEYS = tuple("123456789")
ATTENDANT_NUMBER = re.compile(r"[1-9][0-9]{1,8}|[*#][0-9]{2,8}")


def sound_problem(value: str) -> str | None:
    """Why `value` cannot be played as an attendant prompt, or None. It goes out as an argument
    of play_and_get_digits or playback (sendmsg): play_and_get_digits splits its arguments on
    spaces, and the switch would expand `${...}` (API calls included). `$${name}` is a global
    variable of the switch, which the controller asks for (`global_getvar`) and fills in."""
    if not value.strip():
        return "must not be empty (a sound file or tone_stream://...)"
    if re.search(r"\s", value):
        return f'"{value}" has a space: play_and_get_digits splits its arguments on spaces'
    if "$" in SOUND_VARIABLE.sub("", value):
        return (f'"{value}" has a "$" that is not a global variable $${{name}} (the controller '
                f'fills those in; ${{...}} and API calls are refused)')
    return None


def _check_attendants(p, config: Config, users: dict[str, int], codes: dict[str, str],
                      orbits: numbers.RangeIndex) -> None:
    """[attendant] prompts and [[attendants]]: numbers, zones, hours, holidays, menus."""
    from ..attendant import schedule
    a = config.attendant
    for key in ("prompt_invalid", "prompt_extension", "prompt_name", "prompt_choice",
                "prompt_transfer", "prompt_goodbye"):
        why = sound_problem(getattr(a, key))
        if why:
            p((f"attendant.{key}", why))
    if not re.fullmatch(r"[a-z]{2,3}", a.say_language):
        p(("attendant.say_language", f'"{a.say_language}" is not a language code like "en"'))
    numbers_seen: dict[str, int] = {}
    for i, att in enumerate(config.attendants):
        where = f"attendants[{i}]"
        if not ATTENDANT_NUMBER.fullmatch(att.number):
            p((f"{where}.number", f'"{att.number}" is not a dialable number: 2 to 9 digits not '
                                  f'starting with 0, or * or # followed by 2 to 8 digits'))
        elif att.number in numbers_seen:
            p((f"{where}.number", f'"{att.number}" is also attendants[{numbers_seen[att.number]}]'))
        else:
            numbers_seen[att.number] = i
            if att.number in users:
                p((f"{where}.number", f'"{att.number}" is users[{users[att.number]}].extension'))
            for key, code in codes.items():
                if att.number == code:
                    p((f"{where}.number", f'"{att.number}" is feature code {key}'))
            for j in orbits.find(att.number):
                p((f"{where}.number", f'"{att.number}" is an orbit of orbits[{j}]'))
    for i, att in enumerate(config.attendants):
        where = f"attendants[{i}]"
        try:
            schedule.zone(att.time_zone)
        except ValueError as e:
            p((f"{where}.time_zone", str(e)))
        if att.operator and att.operator not in users:
            p((f"{where}.operator", f'"{att.operator}" is not a users[].extension'))
        if att.on_failure == "operator" and not att.operator:
            p((f"{where}.on_failure", 'is "operator" but no operator is set (set operator, or '
                                      'on_failure = "disconnect")'))
        if not 1 <= att.timeout <= 60:
            p((f"{where}.timeout", f"{att.timeout} is outside 1-60 seconds"))
        if not 200 <= att.digit_timeout_ms <= 10000:
            p((f"{where}.digit_timeout_ms", f"{att.digit_timeout_ms} is outside 200-10000 ms"))
        if not 1 <= att.retries <= 10:
            p((f"{where}.retries", f"{att.retries} is outside 1-10"))
        for day in schedule.WEEKDAYS:
            spans = []
            for k, text in enumerate(getattr(att.hours, day)):
                try:
                    spans.append((schedule.parse_interval(text), k))
                except ValueError as e:
                    p((f"{where}.hours.{day}[{k}]", str(e)))
            spans.sort()
            for ((s1, e1), k1), ((s2, e2), k2) in zip(spans, spans[1:]):
                if s2 < e1:
                    p((f"{where}.hours.{day}[{k2}]", f'"{getattr(att.hours, day)[k2]}" overlaps '
                                                     f'hours.{day}[{k1}]'))
        days = []
        for k, h in enumerate(att.holidays):
            try:
                days.append((schedule.parse_days(h.date), k))
            except ValueError as e:
                p((f"{where}.holidays[{k}].date", str(e)))
            if h.menu is not None:
                _check_menu(p, f"{where}.holidays[{k}].menu", h.menu, att, users, numbers_seen)
        days.sort()
        reach = None   # (last day so far, its holiday): sorted by first day, so a neighbour check
        for (first, last), k in days:
            if reach is not None and first <= reach[0]:
                p((f"{where}.holidays[{k}].date", f'"{att.holidays[k].date}" overlaps '
                                                  f'holidays[{reach[1]}] ("{att.holidays[reach[1]].date}")'))
            if reach is None or last > reach[0]:
                reach = (last, k)
        for name in ("business_hours", "after_hours"):
            _check_menu(p, f"{where}.{name}", getattr(att, name), att, users, numbers_seen)


def _check_menu(p, where: str, menu, att, users: dict[str, int], attendants: dict[str, int]) -> None:
    why = sound_problem(menu.greeting)
    if why:
        p((f"{where}.greeting", why))
    for key, action in menu.keys:
        at = f'{where}.keys."{key}"'
        if key not in ATTENDANT_KEYS:
            p((at, f'"{key}" is not a key 1-9 (0 is the operator, # dials by extension)'))
            continue
        if key == menu.dial_by_name:
            p((at, f'key {key} is also dial_by_name'))
        kind, _, arg = action.partition(":")
        if kind == "extension":
            if arg not in users:
                p((at, f'"{action}": "{arg}" is not a users[].extension'))
        elif kind == "attendant":
            if arg not in attendants:
                p((at, f'"{action}": "{arg}" is not an attendants[].number'))
            elif arg == att.number:
                p((at, f'"{action}" is this attendant itself (to hear the menu again, callers '
                       f'wait or press a key that is not mapped)'))
        elif kind == "announcement":
            why = sound_problem(arg)
            if why:
                p((at, f'"{action}": the file {why}' if arg.strip() else f'"{action}": no file'))
        elif kind == "voicemail":
            if not EXTENSION.fullmatch(arg):
                p((at, f'"{action}": the mailbox after "voicemail:" must be 2 to 9 digits'))
        elif action == "operator":
            if not att.operator:
                p((at, '"operator" but the attendant has no operator'))
        else:
            p((at, f'"{action}" is not "extension:<ext>", "attendant:<number>", '
                   f'"announcement:<file>", "voicemail:<box>" or "operator"'))
    if menu.dial_by_name and menu.dial_by_name not in ATTENDANT_KEYS + ("*",):
        p((f"{where}.dial_by_name", f'"{menu.dial_by_name}" is not a key 1-9 or *'))


FALLBACK_NUMBER = re.compile(r"[0-9*#+]{1,32}")


def _check_fallback(p, where: str, target: str | None, codes: dict[str, str],
                    ranges: numbers.RangeIndex) -> None:
    """A park fallback is empty, `voicemail:<box>`, a number of our context, or a dial string
    that the controller can send in an inline dialplan (`bridge:<dial string>`) as it is."""
    if not target:
        return
    if target.startswith("voicemail:"):
        if not EXTENSION.fullmatch(target[len("voicemail:"):]):
            p((where, f'"{target}": the mailbox after "voicemail:" must be 2 to 9 digits'))
        return
    if "/" not in target:
        if not FALLBACK_NUMBER.fullmatch(target):
            p((where, f'"{target}" is not "voicemail:<box>", a number (0-9 * # +) or a dial '
                      f'string like "user/1005@{{domain}}"'))
        # it must lead out of Call Park: to the park code (or another feature) it would park
        # again, forever; to an orbit it would retrieve someone else's call
        for code_key, code in codes.items():
            if target == code:
                p((where, f'"{target}" is {code_key}: the call would never leave Call Park'))
        for i in ranges.find(target):
            p((where, f'"{target}" is an orbit of orbits[{i}]: the call would be bridged to '
                      f'whatever is parked there'))
        return
    if "$" in target:
        p((where, f'"{target}" has a "$": write {{domain}} for the switch\'s domain (the '
                  f'controller fills it in); other variables are not expanded here'))
        return
    if re.search(r"\s", target):
        p((where, f'"{target}": a dial string has no spaces'))
        return
    from ..esl.commands import InvalidArgument, inline_dialplan
    try:
        inline_dialplan([("bridge", target)])   # exactly what the fallback transfer sends
    except InvalidArgument as e:
        p((where, f'"{target}" cannot be sent as a fallback dial string: {e}'))


def _database_url_problem(url: str) -> str | None:
    """Why `url` is no PostgreSQL URL/conninfo, or None. Never quotes it: it holds a password."""
    from ..db.connect import url_problem
    why = url_problem(url)
    return f"{why}; DATABASE_URL, when set, is the value checked" if why else None


def _check_timing(p, where: str, timeout: int | None, max_attempts: int | None) -> None:
    if timeout is not None and not 10 <= timeout <= 600:
        p((f"{where}.timeout", f"{timeout} is outside 10-600 seconds"))
    if max_attempts is not None and not 1 <= max_attempts <= 10:
        p((f"{where}.max_attempts", f"{max_attempts} is outside 1-10"))
