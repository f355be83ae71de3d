"""The one place that builds ESL command lines and dial strings, and parses their results.

Every user-supplied piece is validated or quoted here: CR/LF/NUL anywhere are rejected; in
``{}`` blocks a value with spaces, ``|`` or ``^`` is single-quoted and ``, { } [ ] '`` are
rejected; inline dialplans reject commas; ``${`` (which the switch would expand, API calls
included) is rejected wherever an application or a dial string would carry it. An operator's
dial string is expanded by :func:`expand_dial` and parsed by :func:`operator_dial`, whose
prefix may hold only :data:`OPERATOR_DIAL_VARIABLES`. Errors name the field and the character.
:class:`CommandsMixin` gives the client its ``originate``/``sendmsg``/``uuid_*`` helpers.
"""

from __future__ import annotations

import re
import uuid as _uuid
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence, Tuple, Union

import gevent

from .errors import CommandError, CommandTimeout, InvalidArgument
from .events import Event

__all__ = [
    "dial_string", "quote_var_value", "expand_dial", "operator_dial", "OperatorDial",
    "OPERATOR_DIAL_VARIABLES", "originate_command", "inline_dialplan", "bgapi_message",
    "sendmsg_execute", "sendmsg_hangup", "sendevent_message", "parse_result", "JobResult",
    "CommandsMixin", "new_uuid", "check_line",
]

_CHAR_NAMES = {"\n": "a line break", "\r": "a line break", "\x00": "a NUL character",
               " ": "a space", "\t": "a tab"}
_BREAKS = re.compile(r"[\r\n\x00]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UUID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}\Z")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}\Z")  # variable / header names
_APP = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,63}\Z")
_CAUSE = re.compile(r"[A-Z][A-Z0-9_]{0,63}\Z")
_EVENT_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}\Z")
_HEADER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,127}\Z")
# rejected inside {} values: they end the block or split variables whatever the quoting
_VAR_REJECT = re.compile(r"[,{}\[\]'\r\n\x00-\x1f\x7f]|\$\{")
_VAR_QUOTE = re.compile(r"[ |^]")
# endpoints, transfer targets and other bare words of a command line
_TOKEN_REJECT = re.compile(r"[\s,{}\[\]|^'\"()\x00-\x1f\x7f]|\$\{")
# uuid_broadcast splits its arguments on spaces only and switch_ivr_broadcast looks only for "::",
# so tone_stream://%(250,250,480,620) passes whole; quotes and braces stay out to be safe.
_BROADCAST_REJECT = re.compile(r"[\s{}\[\]'\"\x00-\x1f\x7f]|\$\{")
_APP_ARG_REJECT = re.compile(r"[)'\r\n\x00-\x1f\x7f]|\$\{")
_INLINE_ARG_REJECT = re.compile(r"[,'\r\n\x00-\x1f\x7f]|\$\{")
# a sendmsg execute-app-arg is one header line; the application expands ${...} in it
_EXPANSION = re.compile(r"\$\{")


def _describe(ch: str) -> str:
    if ch in _CHAR_NAMES:
        return _CHAR_NAMES[ch]
    if ch == "${":
        return "a variable expansion '${'"
    if ord(ch[0]) < 32 or ch == "\x7f":
        return f"a control character {ch!r}"
    return f"{ch!r}"


def _fail(field: str, found: str, why: str = "") -> InvalidArgument:
    return InvalidArgument(f"{field}: contains {_describe(found)}" + (f" ({why})" if why else ""))


def check_line(field: str, value: str) -> str:
    """Reject CR, LF and NUL: they would end the command line and start another."""
    value = str(value)
    m = _BREAKS.search(value)
    if m:
        raise _fail(field, m.group())
    return value


def _check_re(field: str, value, pattern: re.Pattern, what: str) -> str:
    value = check_line(field, value)
    if not pattern.match(value):
        if not value:
            raise InvalidArgument(f"{field}: must not be empty")
        bad = next((c for c in value if not pattern.match("A" + c)), None)
        if bad is not None:
            raise _fail(field, bad, f"not allowed in a {what}")
        raise InvalidArgument(f"{field}: {value!r} is not a valid {what}")
    return value


def check_uuid(field: str, value) -> str:
    return _check_re(field, value, _UUID, "uuid")


def is_uuid(value: str) -> bool:
    """Whether `value` may stand as a channel uuid in a command (what check_uuid accepts)."""
    return bool(_UUID.match(value))


def _check_reject(field: str, value, pattern: re.Pattern, why: str) -> str:
    value = check_line(field, value)
    m = pattern.search(value)
    if m:
        raise _fail(field, m.group(), why)
    return value


def new_uuid() -> str:
    return str(_uuid.uuid4())


# dial strings -------------------------------------------------------------------------------

def quote_var_value(field: str, value) -> str:
    """A ``{}``-block value: single-quoted if it has spaces, ``|`` or ``^``; rejected if it
    has a line break, control character, ``, { } [ ] '`` or ``${``."""
    if isinstance(value, bool):
        value = "true" if value else "false"
    value = _check_reject(field, value, _VAR_REJECT,
                          "cannot be quoted safely inside a {} block")
    if _VAR_QUOTE.search(value):
        return f"'{value}'"
    return value


def channel_vars(variables: Optional[Mapping[str, object]]) -> str:
    """``{k=v,...}`` (empty string if no variables); keys validated, values quoted."""
    return _var_block(variables)


def check_endpoint(field: str, endpoint) -> str:
    return _check_reject(field, endpoint, _TOKEN_REJECT, "not allowed in an endpoint")


def check_broadcast_path(field: str, path) -> str:
    """What `uuid_broadcast` can play: no spaces, quotes, braces or `${`."""
    return _check_reject(field, path, _BROADCAST_REJECT, "not allowed in a broadcast path")


def dial_string(endpoint: Union[str, Sequence[str]], variables: Optional[Mapping[str, object]] = None,
                *, separator: str = ",") -> str:
    """``{k=v,...}endpoint`` with validated endpoint(s) and quoted values.

    Several endpoints are joined with ``separator`` (``,`` rings them at once, ``|`` one after
    the other). Example: ``dial_string("user/1002@pbx.test", {"origination_caller_id_name":
    "Call Via Work"})`` -> ``{origination_caller_id_name='Call Via Work'}user/1002@pbx.test``.
    An :class:`OperatorDial` keeps its prefix: its variables, then ``variables`` (which win).
    """
    if isinstance(endpoint, OperatorDial):
        merged = {**endpoint.variables, **(variables or {})}
        return (channel_vars(merged) + _var_block(endpoint.leg_variables, "[", "]")
                + check_endpoint("endpoint", endpoint.endpoint))
    if separator not in (",", "|"):
        raise InvalidArgument("separator: must be ',' or '|'")
    endpoints = [endpoint] if isinstance(endpoint, str) else list(endpoint)
    if not endpoints:
        raise InvalidArgument("endpoint: no endpoint given")
    checked = [check_endpoint("endpoint", e) for e in endpoints]
    for e in checked:
        if not e:
            raise InvalidArgument("endpoint: must not be empty")
    return channel_vars(variables) + separator.join(checked)


# operator dial strings -----------------------------------------------------------------------
# switch.user_dial_string and a park fallback are written by the operator. They are templates:
# `{ext}` and `{domain}` are filled in by `expand_dial` (the one expansion, for the rendered
# dialplan and for the controller's own originates alike), and the result is parsed by
# `operator_dial`, which accepts a `{...}` and a `[...]` prefix holding only the call-setup
# variables below. Anything else there is refused: `execute_on_*`, `api_on_*`, the hangup
# hooks, `exec_after_bridge_*` ... run applications or API commands (`system` among them), and
# `origination_*` is the controller's own (the ring-back's caller id and uuid).
OPERATOR_DIAL_VARIABLES = frozenset({
    "absolute_codec_string", "alert_info", "codec_string", "ignore_early_media", "leg_timeout",
    "presence_id", "rtp_secure_media", "sip_auto_answer", "sip_cid_type", "sip_invite_domain",
})
_SIP_HEADER_VARIABLE = re.compile(r"sip_h_[A-Za-z][A-Za-z0-9-]{0,63}\Z")  # sip_h_X-Foo: a SIP header
_TEMPLATE = re.compile(r"\{(ext|domain|number|context)\}|\$\$\{([A-Za-z0-9_]+)\}")


def operator_variable_allowed(name: str) -> bool:
    return name in OPERATOR_DIAL_VARIABLES or bool(_SIP_HEADER_VARIABLE.match(name))


def expand_dial(template: str, *, ext: Optional[str] = None, domain: Optional[str] = None,
                global_var=None, number: Optional[str] = None, context: Optional[str] = None) -> str:
    """An operator's dial string with `{ext}` and `{domain}` filled in, in one pass (a filled-in
    value is never expanded again); with `global_var` (name -> value, e.g. the switch's
    `global_getvar`) each `$${name}` too, as the switch's preprocessor does in the rendered
    dialplan. Render passes `ext="$1"` and `switch.domain`; the ring-back the parker's
    extension, the switch's domain and `global_var`. InvalidArgument for `{ext}`/`{domain}`
    without a value. Call Via Work's destination dial string also has `{number}` (the number
    called) and `{context}` (switch.context)."""
    values = {"ext": ext, "domain": domain, "number": number, "context": context}

    def fill(m):
        if m.group(2) is not None:
            return m.group(0) if global_var is None else str(global_var(m.group(2)))
        value = values[m.group(1)]
        if value is None:
            raise InvalidArgument(f"dial string: {{{m.group(1)}}} has no value here")
        return value
    return _TEMPLATE.sub(fill, template)


class OperatorDial(str):
    """An operator's dial string, expanded and checked: `{variables}[leg_variables]endpoint`,
    the prefix holding only allowed variables. Its text is the canonical form (values quoted as
    `dial_string` quotes them); `dial_string` merges its variables with the caller's."""

    variables: dict
    leg_variables: dict
    endpoint: str

    def __new__(cls, variables: Mapping[str, str], leg_variables: Mapping[str, str], endpoint: str):
        text = _var_block(variables, "{", "}") + _var_block(leg_variables, "[", "]") + endpoint
        self = super().__new__(cls, text)
        self.variables, self.leg_variables, self.endpoint = dict(variables), dict(leg_variables), endpoint
        return self


def _take_block(field: str, text: str, open_: str, close: str) -> Tuple[dict, str]:
    """(variables, rest) of a leading `open_ ... close` block of `text` ({} if there is none)."""
    if not text.startswith(open_):
        return {}, text
    items, cur, quoted = [], "", False
    for i, ch in enumerate(text[1:], 1):
        if ch == "'":
            quoted = not quoted
        if not quoted and ch == close:
            items.append(cur)
            break
        if not quoted and ch == ",":
            items.append(cur)
            cur = ""
        else:
            cur += ch
    else:
        raise InvalidArgument(f"{field}: the {open_}...{close} block is not closed")
    variables = {}
    for item in items:
        if not item:
            continue
        name, eq, value = item.partition("=")
        if not eq:
            raise InvalidArgument(f"{field}: {open_}{item}{close} is not a variable=value")
        if not operator_variable_allowed(name):
            raise InvalidArgument(
                f"{field}: the variable {name} may not be set in a dial string (allowed: "
                f"{', '.join(sorted(OPERATOR_DIAL_VARIABLES))}, sip_h_<header>)")
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        quote_var_value(name, value)
        variables[name] = value
    return variables, text[i + 1:]


def operator_dial(text: str, field: str = "dial string") -> OperatorDial:
    """Parses an expanded operator dial string (see `expand_dial`) into an OperatorDial;
    InvalidArgument naming what cannot be sent: a variable not allowed in the prefix, a value
    that cannot be quoted, several endpoints (`,` `|`), anything an endpoint cannot carry."""
    check_line(field, text)
    variables, rest = _take_block(field, text, "{", "}")
    leg_variables, rest = _take_block(field, rest, "[", "]")
    if rest.startswith("<"):
        raise InvalidArgument(f"{field}: a <...> prefix is not supported; use {{...}}")
    endpoint = check_endpoint(field, rest)
    if not endpoint:
        raise InvalidArgument(f"{field}: no endpoint after the variables")
    return OperatorDial(variables, leg_variables, endpoint)


def _var_block(variables: Optional[Mapping[str, object]], open_: str = "{", close: str = "}") -> str:
    if not variables:
        return ""
    parts = []
    for key, value in variables.items():
        key = _check_re("variable name", key, _NAME, "variable name")
        parts.append(f"{key}={quote_var_value(key, value)}")
    return open_ + ",".join(parts) + close


def application_token(app: str, arg: Optional[str] = None) -> str:
    """``&app(arg)`` for originate; quoted when the argument has spaces."""
    app = _check_re("application", app, _APP, "application name")
    arg = "" if arg is None else _check_reject(
        "application argument", arg, _APP_ARG_REJECT,
        "originate's &app(arg) cannot carry it; transfer to an extension instead")
    token = f"&{app}({arg})"
    return f"'{token}'" if " " in token else token


def originate_command(dial: str, *, app: Optional[str] = "park", app_arg: Optional[str] = None,
                      extension: Optional[str] = None, dialplan: Optional[str] = None,
                      context: Optional[str] = None) -> str:
    """``originate <dial> &app(arg)`` or ``originate <dial> <extension> [dialplan] [context]``.

    ``dial`` must come from :func:`dial_string` (it is only checked for line breaks/spaces
    outside quotes here)."""
    check_line("dial string", dial)
    if " " in re.sub(r"'[^']*'", "", dial):
        raise InvalidArgument("dial string: contains a space outside quotes (build it with dial_string)")
    if extension is not None:
        parts = [dial, _check_reject("extension", extension, _TOKEN_REJECT, "not allowed in an extension")]
        if dialplan or context:
            parts.append(_check_re("dialplan", dialplan or "XML", _APP, "dialplan name"))
        if context:
            parts.append(_check_re("context", context, _NAME, "context name"))
        return "originate " + " ".join(parts)
    return f"originate {dial} {application_token(app or 'park', app_arg)}"


def inline_dialplan(apps: Iterable[Union[str, Tuple[str, Optional[str]]]]) -> str:
    """``'app:arg,app2'`` for ``transfer ... inline``. FreeSWITCH splits inline dialplans on
    every comma (trace s07), so a comma in an argument is rejected, never passed through."""
    parts = []
    for item in apps:
        app, arg = (item, None) if isinstance(item, str) else item
        app = _check_re("inline application", app, _APP, "application name")
        if arg is None or arg == "":
            parts.append(app)
        else:
            arg = _check_reject("inline application argument", arg, _INLINE_ARG_REJECT,
                                "inline dialplans split on every comma")
            parts.append(f"{app}:{arg}")
    if not parts:
        raise InvalidArgument("inline dialplan: no application given")
    text = ",".join(parts)
    return f"'{text}'" if " " in text else text


def bgapi_message(command: str, job_uuid: str) -> str:
    check_line("command", command)
    check_uuid("job uuid", job_uuid)
    return f"bgapi {command}\nJob-UUID: {job_uuid}"


def sendmsg_execute(uuid: str, app: str, arg: Optional[str] = None, *, event_uuid: Optional[str] = None,
                    loops: Optional[int] = None, event_lock: bool = False) -> str:
    """``sendmsg <uuid>`` executing ``app`` (``Event-UUID`` comes back as Application-UUID)."""
    lines = [f"sendmsg {check_uuid('uuid', uuid)}", "call-command: execute",
             f"execute-app-name: {_check_re('application', app, _APP, 'application name')}"]
    if arg is not None and arg != "":
        arg = _check_reject("application argument", arg, _EXPANSION,
                            "the switch expands it when the application runs")
        lines.append(f"execute-app-arg: {arg}")
    if loops is not None:
        lines.append(f"loops: {int(loops)}")
    if event_lock:
        lines.append("event-lock: true")
    if event_uuid:
        lines.append(f"Event-UUID: {check_uuid('event uuid', event_uuid)}")
    return "\n".join(lines)


def sendmsg_hangup(uuid: str, cause: str = "NORMAL_CLEARING") -> str:
    return (f"sendmsg {check_uuid('uuid', uuid)}\ncall-command: hangup\n"
            f"hangup-cause: {_check_re('cause', cause, _CAUSE, 'hangup cause')}")


def sendevent_message(name: str, headers: Mapping[str, object]) -> str:
    """``sendevent NAME`` with one ``key: value`` line per header (values may not break lines);
    a body is sent separately by the connection, with its computed ``content-length``."""
    lines = [f"sendevent {_check_re('event name', name, _EVENT_NAME, 'event name')}"]
    for key, value in headers.items():
        key = _check_re("header name", key, _HEADER, "header name")
        if key.lower() == "content-length":
            raise InvalidArgument("header name: Content-Length is computed from body")
        value = _check_reject(key, str(value), _CONTROL, "header values are single lines")
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


_CHAT_REJECT = re.compile(r"[|\x00-\x1f\x7f]|\$\{")


def chat_command(proto: str, sender: str, to: str, text: str,
                 content_type: str = "text/plain") -> str:
    """``chat <proto>|<from>|<to>|<text>|<content-type>`` (mod_dptools' chat API splits on
    ``|``, so no field may hold one). The content type is always sent: without it mod_sofia
    sends the MESSAGE as text/html, which SIP phones answer with 415 (live run 2026-12-01)."""
    fields = [_check_reject(name, value, _CHAT_REJECT, "chat fields are split on '|'")
              for name, value in (("proto", proto), ("from", sender), ("to", to),
                                  ("text", text), ("content type", content_type))]
    if not all(fields):
        raise InvalidArgument("chat: proto, from, to, text and content type must not be empty")
    return "chat " + "|".join(fields)


def uuid_command(verb: str, uuid: str, *args: str) -> str:
    return " ".join((verb, check_uuid("uuid", uuid)) + args)


# results ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class JobResult:
    """A successful result: ``text`` as received, ``value`` without ``+OK `` (e.g. the uuid)."""

    text: str
    value: str
    job_uuid: Optional[str] = None
    event: Optional[Event] = None


def parse_result(text: str, command: Optional[str] = None, job_uuid: Optional[str] = None,
                 event: Optional[Event] = None) -> JobResult:
    """``+OK <value>`` -> JobResult; ``-ERR <CAUSE>`` / ``-USAGE`` -> raise CommandError(cause)."""
    stripped = text.rstrip("\n")
    if stripped.startswith("-ERR"):
        raise CommandError(stripped[4:].strip() or "ERR", command, stripped)
    if stripped.startswith("-USAGE"):
        raise CommandError("USAGE: " + stripped[6:].strip(" :"), command, stripped)
    if stripped.startswith("+OK"):
        value = stripped[3:].strip()
    else:
        value = stripped
    return JobResult(stripped, value, job_uuid, event)


# the client's helpers -----------------------------------------------------------------------

class Job:
    """A running ``bgapi`` job; ``get(timeout)`` returns its :class:`JobResult` or raises."""

    __slots__ = ("job_uuid", "command", "_result", "_client", "timeout")

    def __init__(self, client, job_uuid: str, command: str, result, timeout: float):
        self.job_uuid = job_uuid
        self.command = command
        self._result = result
        self._client = client
        self.timeout = timeout

    def ready(self) -> bool:
        return self._result.ready()

    def rawlink(self, callback):
        self._result.rawlink(callback)

    def unlink(self, callback):
        self._result.unlink(callback)

    def get(self, timeout: Optional[float] = None) -> JobResult:
        timeout = self.timeout if timeout is None else timeout
        self._result.wait(timeout)
        if not self._result.ready():
            self._client._jobs.pop(self.job_uuid, None)
            raise CommandTimeout(f"bgapi {self.command.split(' ', 1)[0]}: no BACKGROUND_JOB within {timeout}s")
        event = self._result.get(block=False)
        return parse_result(event.body, self.command.split(" ", 1)[0], self.job_uuid, event)


class Originate:
    """Handle of an ``originate``: the ``uuid`` chosen by the client, the ``job``, and
    waiters for its CHANNEL_ANSWER (``answered``) and CHANNEL_HANGUP (``hungup``)."""

    __slots__ = ("uuid", "job", "answered", "hungup")

    def __init__(self, uuid, job, answered, hungup):
        self.uuid = uuid
        self.job = job
        self.answered = answered
        self.hungup = hungup

    def result(self, timeout: Optional[float] = None) -> JobResult:
        """The originate's BACKGROUND_JOB result (``+OK <uuid>``) or CommandError(cause)."""
        return self.job.get(timeout)

    def wait_answer(self, timeout: Optional[float] = None) -> Event:
        """CHANNEL_ANSWER of the leg; CommandError(cause) if the originate fails first."""
        timeout = self.job.timeout if timeout is None else timeout
        gevent.wait([self.answered, self.job], timeout=timeout, count=1)
        if self.answered.ready():
            return self.answered.get(0)
        if self.job.ready():
            self.job.get(0)  # raises CommandError on -ERR
            return self.answered.get(timeout)  # +OK: the answer event is due
        self.answered.cancel()
        raise CommandTimeout(f"originate {self.uuid}: not answered within {timeout}s")

    def wait_hangup(self, timeout: Optional[float] = None) -> Event:
        return self.hungup.get(timeout)


class Execution:
    """A ``sendmsg`` execute; ``wait(timeout)`` returns its CHANNEL_EXECUTE_COMPLETE event."""

    __slots__ = ("uuid", "event_uuid", "reply", "complete")

    def __init__(self, uuid, event_uuid, reply, complete):
        self.uuid = uuid
        self.event_uuid = event_uuid
        self.reply = reply
        self.complete = complete

    def wait(self, timeout: Optional[float] = None) -> Event:
        return self.complete.get(timeout)


_HOLD_MODES = {"on": "", "off": "off ", "toggle": "toggle "}


class CommandsMixin:
    """Command helpers on the client. Needs ``api``, ``send_command``, ``bgapi_job``, ``wait_for``."""

    def _checked_api(self, command: str, timeout=None) -> JobResult:
        return parse_result(self.api(command, timeout=timeout), command.split(" ", 1)[0])

    def originate(self, endpoint, variables: Optional[Mapping[str, object]] = None, *,
                  app: Optional[str] = "park", app_arg: Optional[str] = None,
                  extension: Optional[str] = None, dialplan: Optional[str] = None,
                  context: Optional[str] = None, uuid: Optional[str] = None,
                  timeout: Optional[float] = None) -> Originate:
        """``bgapi originate`` with a client-chosen ``origination_uuid``; returns an
        :class:`Originate` whose waiters were registered before the command was sent."""
        uuid = check_uuid("uuid", uuid or new_uuid())
        merged = {"origination_uuid": uuid}
        if variables:
            for key in variables:
                if key == "origination_uuid":
                    raise InvalidArgument("origination_uuid: pass it as uuid=")
            merged.update(variables)
        command = originate_command(dial_string(endpoint, merged), app=app, app_arg=app_arg,
                                    extension=extension, dialplan=dialplan, context=context)
        if timeout is None and variables and "originate_timeout" in variables:
            try:  # let the job outlive the switch's own ring timeout
                timeout = max(self.command_timeout, float(variables["originate_timeout"]) + 5.0)
            except (TypeError, ValueError):
                raise InvalidArgument("originate_timeout: not a number") from None
        answered = self.wait_for(uuid, "CHANNEL_ANSWER")
        hungup = self.wait_for(uuid, ("CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE"))
        try:
            job = self.bgapi_job(command, timeout=timeout)
        except BaseException:
            answered.cancel()
            hungup.cancel()
            raise
        timeout = job.timeout
        answered.timeout = hungup.timeout = timeout
        return Originate(uuid, job, answered, hungup)

    def sendmsg(self, uuid: str, app: str, arg: Optional[str] = None, *, loops: Optional[int] = None,
                event_lock: bool = False, timeout: Optional[float] = None) -> Execution:
        """Execute ``app`` on the channel; ``.wait()`` gives its CHANNEL_EXECUTE_COMPLETE."""
        event_uuid = new_uuid()
        msg = sendmsg_execute(uuid, app, arg, event_uuid=event_uuid, loops=loops, event_lock=event_lock)
        complete = self.wait_for(
            uuid, lambda ev: ev.name == "CHANNEL_EXECUTE_COMPLETE" and ev.application_uuid == event_uuid,
            timeout)
        try:
            reply = parse_result(self.send_command(msg, timeout=timeout), "sendmsg")
        except BaseException:
            complete.cancel()
            raise
        complete.description = f"CHANNEL_EXECUTE_COMPLETE({app})"
        return Execution(uuid, event_uuid, reply, complete)

    def hangup(self, uuid: str, cause: str = "NORMAL_CLEARING", timeout=None) -> JobResult:
        return parse_result(self.send_command(sendmsg_hangup(uuid, cause), timeout=timeout), "sendmsg")

    def sendevent(self, name: str, headers: Mapping[str, object], body: Optional[str] = None,
                  timeout=None) -> JobResult:
        if body is not None and "\x00" in body:
            raise InvalidArgument("body: contains a NUL character")
        return parse_result(self.send_command(sendevent_message(name, headers), timeout=timeout,
                                              body=body), "sendevent")

    def uuid_bridge(self, uuid: str, other: str, timeout=None) -> JobResult:
        return self._checked_api(uuid_command("uuid_bridge", uuid, check_uuid("other", other)), timeout)

    def uuid_transfer(self, uuid: str, destination: str, dialplan: str = "XML",
                      context: Optional[str] = None, leg: Optional[str] = None, timeout=None) -> JobResult:
        args = []
        if leg is not None:
            if leg not in ("bleg", "both"):
                raise InvalidArgument("leg: must be 'bleg' or 'both'")
            args.append(f"-{leg}")
        args.append(_check_reject("destination", destination, _TOKEN_REJECT, "not allowed in an extension"))
        args.append(_check_re("dialplan", dialplan, _APP, "dialplan name"))
        if context:
            args.append(_check_re("context", context, _NAME, "context name"))
        return self._checked_api(uuid_command("uuid_transfer", uuid, *args), timeout)

    def uuid_transfer_inline(self, uuid: str, apps, timeout=None) -> JobResult:
        """Transfer to an inline dialplan: ``apps`` = ``["park"]`` or ``[("playback", "x.wav"), "park"]``."""
        return self._checked_api(uuid_command("uuid_transfer", uuid, inline_dialplan(apps), "inline"), timeout)

    def uuid_broadcast(self, uuid: str, path: str, leg: str = "aleg", timeout=None) -> JobResult:
        if leg not in ("aleg", "bleg", "both"):
            raise InvalidArgument("leg: must be 'aleg', 'bleg' or 'both'")
        path = check_broadcast_path("path", path)
        return self._checked_api(uuid_command("uuid_broadcast", uuid, path, leg), timeout)

    def uuid_break(self, uuid: str, all: bool = False, timeout=None) -> JobResult:
        return self._checked_api(uuid_command("uuid_break", uuid, *(("all",) if all else ())), timeout)

    def uuid_kill(self, uuid: str, cause: Optional[str] = None, timeout=None) -> JobResult:
        args = (_check_re("cause", cause, _CAUSE, "hangup cause"),) if cause else ()
        return self._checked_api(uuid_command("uuid_kill", uuid, *args), timeout)

    def uuid_setvar(self, uuid: str, name: str, value: Optional[object] = None, timeout=None) -> JobResult:
        """Set (or, with ``value`` None/"" , unset) a channel variable."""
        name = _check_re("variable name", name, _NAME, "variable name")
        args = [name]
        if value is not None and value != "":
            args.append(_check_reject(name, str(value), _CONTROL, "values are single lines"))
        return self._checked_api(uuid_command("uuid_setvar", uuid, *args), timeout)

    def global_getvar(self, name: str, timeout=None) -> str:
        """A global variable of the switch (what `$${name}` expands to); "" when unset."""
        name = _check_re("variable name", name, _NAME, "variable name")
        text = self.api(f"global_getvar {name}", timeout=timeout)
        if text.startswith("-ERR"):
            parse_result(text, "global_getvar")
        return text.strip()

    def uuid_getvar(self, uuid: str, name: str, timeout=None) -> Optional[str]:
        """The variable's value, or None when unset (``_undef_``)."""
        name = _check_re("variable name", name, _NAME, "variable name")
        text = self.api(uuid_command("uuid_getvar", uuid, name), timeout=timeout)
        if text.startswith("-ERR"):
            parse_result(text, "uuid_getvar")
        return None if text == "_undef_" else text

    def uuid_exists(self, uuid: str, timeout=None) -> bool:
        text = self.api(uuid_command("uuid_exists", uuid), timeout=timeout)
        if text.startswith("-ERR"):
            parse_result(text, "uuid_exists")
        return text.strip() == "true"

    def uuid_hold(self, uuid: str, mode: str = "on", timeout=None) -> JobResult:
        if mode not in _HOLD_MODES:
            raise InvalidArgument("mode: must be 'on', 'off' or 'toggle'")
        return self._checked_api(f"uuid_hold {_HOLD_MODES[mode]}{check_uuid('uuid', uuid)}", timeout)
