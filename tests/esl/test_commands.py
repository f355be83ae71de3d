"""Command building and quoting: exact shapes from the traces + hypothesis property tests."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fscontrol.esl import InvalidArgument, dial_string, inline_dialplan
from fscontrol.esl.commands import (CommandsMixin, application_token, bgapi_message,
                                    originate_command, parse_result, sendevent_message,
                                    sendmsg_execute, sendmsg_hangup)
from fscontrol.esl.errors import CommandError

from . import traces

NASTY = list("ab1 ,{}[]|^'\"\r\n\x00\t=$()%:;/@&\\-_.+*#!") + ["${", "\u00e9", "\u2028", "\x7f", "\x0b"]
nasty_text = st.one_of(
    st.lists(st.sampled_from(NASTY), max_size=16).map("".join),
    st.text(max_size=20),
)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- a pessimistic model of how FreeSWITCH reads what we build ------------------------------

def split_outside_quotes(text, sep):
    parts, cur, quoted = [], "", False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def fs_read_dial_string(dial):
    """{vars}endpoint as FreeSWITCH reads it, assuming the worst: the block ends at the FIRST
    '}' and variables split at EVERY comma, quotes notwithstanding."""
    if not dial.startswith("{"):
        return {}, dial
    end = dial.index("}")
    block, rest = dial[1:end], dial[end + 1:]
    variables = {}
    for part in block.split(","):
        key, _, value = part.partition("=")
        if len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        assert key not in variables, f"duplicate variable {key}"
        variables[key] = value
    return variables, rest


class Recorder(CommandsMixin):
    """CommandsMixin wired to a recorder instead of a socket."""

    command_timeout = 10

    def __init__(self):
        self.sent = []
        self.waiters = []

    def api(self, command, timeout=None):
        self.sent.append("api " + command)
        return "+OK\n"

    def send_command(self, command, timeout=None, body=None):
        self.sent.append(command)
        return "+OK"

    def bgapi_job(self, command, timeout=None):
        self.sent.append(bgapi_message(command, "11111111-2222-3333-4444-555555555555"))
        return type("J", (), {"timeout": 1})()

    def wait_for(self, uuid, match, timeout=None):
        w = type("W", (), {"cancel": lambda s: None, "timeout": None, "description": ""})()
        self.waiters.append((uuid, match))
        return w


# --- exact shapes ----------------------------------------------------------------------------

def test_click_to_call_matches_trace_s12():
    sent = [e["data"] for e in traces.load("s12") if e["dir"] == "send"][2]
    inner = dial_string("loopback/answer/trace", {"origination_caller_id_number": "1001"})
    outer = dial_string("loopback/answer/trace", {
        "origination_uuid": "08c8c79f-3e21-4d44-992e-f6468552ce01",
        "origination_caller_id_number": "+15550100",
        "origination_caller_id_name": "Call Via Work",
        "originate_timeout": 20,
    })
    cmd = originate_command(outer, app="bridge", app_arg=inner)
    assert bgapi_message(cmd, "83c12660-7502-4feb-b82c-e07f20d3ed93") + "\n\n" == sent


def test_unquoted_space_of_s12b_cannot_happen():
    assert "'Call Via Work'" in dial_string("x/y", {"origination_caller_id_name": "Call Via Work"})


def test_sendmsg_matches_trace_s09():
    sent = [e["data"] for e in traces.load("s09") if e["dir"] == "send"]
    assert sendmsg_execute("fdc3c964-05f9-4173-bcf1-f95eba27aea6", "playback", "tone_stream://%(300,0,400)",
                           event_uuid="9e1f0a3e-3bb7-464d-a527-dd049dbe37a8") + "\n\n" == sent[3]
    assert sendmsg_hangup("fdc3c964-05f9-4173-bcf1-f95eba27aea6") + "\n\n" == sent[6]


def test_sendevent_matches_trace_s08():
    sent = [e["data"] for e in traces.load("s08") if e["dir"] == "send"][2]
    headers = dict(line.split(": ", 1) for line in sent.strip("\n").split("\n")[1:])
    assert sendevent_message("PRESENCE_IN", headers) + "\n\n" == sent


def test_uuid_helpers_match_traces():
    r = Recorder()
    u = "4dd0469c-954f-4986-bfd1-66ce8df778d9"
    r.uuid_broadcast(u, "local_stream://moh/8000")
    r.uuid_break(u, all=True)
    r.uuid_kill(u, "NORMAL_CLEARING")
    r.uuid_transfer(u, "moh", "XML", "trace")
    r.uuid_hold(u)
    r.uuid_hold(u, "off")
    r.uuid_setvar(u, "fscontrol_orbit", "7002")
    r.uuid_bridge(u, "4010d999-4798-4d62-8b24-21c96a1e590f")
    assert r.sent == [
        f"api uuid_broadcast {u} local_stream://moh/8000 aleg",
        f"api uuid_break {u} all",
        f"api uuid_kill {u} NORMAL_CLEARING",
        f"api uuid_transfer {u} moh XML trace",
        f"api uuid_hold {u}",
        f"api uuid_hold off {u}",
        f"api uuid_setvar {u} fscontrol_orbit 7002",
        f"api uuid_bridge {u} 4010d999-4798-4d62-8b24-21c96a1e590f",
    ]


def test_broadcast_takes_a_tone_stream_with_commas_but_no_space():
    """uuid_broadcast splits on spaces only, so a tone_stream's commas are fine there (unlike an
    inline dialplan, s07); a space would shift the leg argument and is refused."""
    r = Recorder()
    u = "4dd0469c-954f-4986-bfd1-66ce8df778d9"
    r.uuid_broadcast(u, "tone_stream://%(250,250,480,620);loops=3")
    assert r.sent == [f"api uuid_broadcast {u} tone_stream://%(250,250,480,620);loops=3 aleg"]
    with pytest.raises(InvalidArgument, match="path: contains"):
        r.uuid_broadcast(u, "/sounds/a b.wav")


def test_inline_dialplan_rejects_the_s07_comma():
    with pytest.raises(InvalidArgument) as err:
        inline_dialplan([("playback", "tone_stream://%(200,0,500)"), "park"])
    assert str(err.value).startswith("inline application argument: contains ','")
    assert inline_dialplan([("playback", "/sounds/hold.wav"), "park"]) == "playback:/sounds/hold.wav,park"
    assert inline_dialplan([("set", "a=b c")]) == "'set:a=b c'"


def test_error_names_field_and_character():
    with pytest.raises(InvalidArgument) as err:
        dial_string("user/1002", {"caller_id_name": "Bob\r\nbgapi hupall"})
    assert str(err.value) == "caller_id_name: contains a line break"
    with pytest.raises(InvalidArgument, match=r"^caller_id_name: contains '\}'"):
        dial_string("user/1002", {"caller_id_name": "x}user/666"})
    with pytest.raises(InvalidArgument, match=r"^caller_id_name: contains ','"):
        dial_string("user/1002", {"caller_id_name": "Doe, John"})
    with pytest.raises(InvalidArgument, match=r"^endpoint: contains a space"):
        dial_string("user/1002 &system(x)")
    with pytest.raises(InvalidArgument, match=r"^uuid: contains a space"):
        Recorder().uuid_kill("abc def")
    with pytest.raises(InvalidArgument, match=r"^cause: "):
        Recorder().uuid_kill("abc", "NORMAL_CLEARING\nbgapi hupall")


def test_originate_registers_waiters_before_sending():
    r = Recorder()
    r.originate("user/1002@pbx.test", {"origination_caller_id_name": "Alice"}, uuid="aaaaaaaa-1111-2222-3333-444444444444")
    assert [u for u, _ in r.waiters] == ["aaaaaaaa-1111-2222-3333-444444444444"] * 2
    assert r.sent[0].startswith("bgapi originate {origination_uuid=aaaaaaaa-1111-2222-3333-444444444444,"
                                "origination_caller_id_name=Alice}user/1002@pbx.test &park()\nJob-UUID: ")
    with pytest.raises(InvalidArgument):
        r.originate("x/y", {"origination_uuid": "other"})


def test_originate_to_extension_and_app_with_spaces():
    assert originate_command("user/1", extension="7001", dialplan="XML", context="default") == \
        "originate user/1 7001 XML default"
    assert originate_command("user/1", app="playback", app_arg="/a b.wav") == "originate user/1 '&playback(/a b.wav)'"
    with pytest.raises(InvalidArgument, match=r"application argument: contains '\)'"):
        originate_command("user/1", app="playback", app_arg="tone_stream://%(1,0,2)")


def test_parse_result():
    assert parse_result("+OK 4dd0469c-954f-4986-bfd1-66ce8df778d9\n").value == "4dd0469c-954f-4986-bfd1-66ce8df778d9"
    with pytest.raises(CommandError) as err:
        parse_result("-ERR DESTINATION_OUT_OF_ORDER\n", "originate")
    assert err.value.cause == "DESTINATION_OUT_OF_ORDER" and err.value.command == "originate"
    with pytest.raises(CommandError) as err:
        parse_result("-ERR No such channel!\n")
    assert err.value.cause == "No such channel!"
    assert parse_result("UP 0 years\n").value == "UP 0 years"


# --- properties --------------------------------------------------------------------------------

@SETTINGS
@given(values=st.dictionaries(st.sampled_from(["origination_caller_id_name", "origination_caller_id_number",
                                               "fscontrol_note", "x"]), nasty_text, max_size=4),
       endpoint=st.one_of(st.just("user/1002@pbx.test"), nasty_text))
def test_no_string_adds_a_variable_or_a_line(values, endpoint):
    try:
        dial = dial_string(endpoint, values)
        command = originate_command(dial, app="park")
    except InvalidArgument:
        return
    wire = bgapi_message(command, "11111111-2222-3333-4444-555555555555") + "\n\n"
    assert not re.search(r"[\r\x00]", wire)
    assert wire.count("\n") == 3 and wire.endswith("\n\n")
    parsed, rest = fs_read_dial_string(dial)
    assert parsed == {k: str(v) for k, v in values.items()} if values else parsed == {}
    assert rest == endpoint
    assert len(split_outside_quotes(command, " ")) == 3  # originate, dial string, &park()


@SETTINGS
@given(key=nasty_text, value=nasty_text)
def test_arbitrary_variable_names_cannot_smuggle(key, value):
    try:
        dial = dial_string("user/1", {key: value})
    except InvalidArgument:
        return
    parsed, rest = fs_read_dial_string(dial)
    assert parsed == {key: value} and rest == "user/1"


@SETTINGS
@given(apps=st.lists(st.tuples(st.sampled_from(["playback", "park", "set", "bad app", "a\n"]), nasty_text),
                     min_size=1, max_size=3))
def test_inline_dialplan_property(apps):
    try:
        text = inline_dialplan(apps)
    except InvalidArgument:
        return
    assert not re.search(r"[\r\n\x00]", text)
    if text.startswith("'"):
        text = text[1:-1]
    assert "'" not in text
    got = [tuple(p.split(":", 1)) if ":" in p else (p, "") for p in text.split(",")]
    assert got == [(a, b or "") for a, b in apps]


@SETTINGS
@given(arg=nasty_text, name=nasty_text, value=nasty_text, cause=nasty_text, path=nasty_text, dest=nasty_text)
def test_helpers_never_emit_a_second_command(arg, name, value, cause, path, dest):
    u = "4dd0469c-954f-4986-bfd1-66ce8df778d9"
    calls = [
        lambda r: r.uuid_setvar(u, name, value),
        lambda r: r.uuid_getvar(u, name),
        lambda r: r.uuid_kill(u, cause),
        lambda r: r.uuid_broadcast(u, path),
        lambda r: r.uuid_transfer(u, dest),
        lambda r: r.uuid_transfer_inline(u, [("playback", arg)]),
        lambda r: r.sendmsg(u, "playback", arg),
        lambda r: r.hangup(u, cause),
        lambda r: r.sendevent("PRESENCE_IN", {"status": value, "from": arg}),
        lambda r: r.uuid_kill(name),
    ]
    for call in calls:
        r = Recorder()
        try:
            call(r)
        except InvalidArgument:
            continue
        (wire,) = r.sent
        assert "\r" not in wire and "\x00" not in wire and "\n\n" not in wire
        first, *headers = wire.split("\n")
        assert first.startswith(("api uuid_", "sendmsg ", "sendevent "))
        if first.startswith("api "):
            assert headers == []
        for line in headers:
            assert re.match(r"[A-Za-z-]+: ", line), line
        if first.startswith("sendmsg"):
            names = [line.split(":", 1)[0] for line in headers]
            assert len(names) == len(set(names)) and "call-command" in names


@SETTINGS
@given(command=nasty_text)
def test_raw_api_cannot_carry_a_second_line(command):
    from fscontrol.esl import EslClient

    client = EslClient("127.0.0.1", 1, "x")
    sent = []
    client._require = lambda: type("C", (), {"send": lambda self, data, timeout=None: sent.append(data) or ""})()
    try:
        client.api(command)
    except InvalidArgument:
        assert re.search(r"[\r\n\x00]", command)
        return
    assert sent == ["api " + command] and not re.search(r"[\r\n\x00]", command)


def test_chat_command_sends_text_plain_and_refuses_a_field_separator():
    from fscontrol.esl.commands import chat_command
    assert chat_command("sip", "7000@d", "1002@d", "Alice parked at 7000") == \
        "chat sip|7000@d|1002@d|Alice parked at 7000|text/plain"
    with pytest.raises(InvalidArgument, match="text: contains '\\|'"):
        chat_command("sip", "7000@d", "1002@d", "a|b")
    with pytest.raises(InvalidArgument, match="to: contains a variable expansion"):
        chat_command("sip", "7000@d", "${x}@d", "hi")


# --- operator dial strings (issue 11, item 7) ------------------------------------------------------

from fscontrol.esl.commands import OperatorDial, expand_dial, operator_dial  # noqa: E402


def test_expand_dial_fills_ext_and_domain_once_and_globals_when_asked():
    template = "{sip_h_X-Site=$${site}}sofia/$${internal_profile}/{ext}@{domain}"
    assert expand_dial(template, ext="$1", domain="$${domain}") == \
        "{sip_h_X-Site=$${site}}sofia/$${internal_profile}/$1@$${domain}"   # the dialplan's
    asked = []
    expanded = expand_dial(template, ext="1002", domain="{ext}.pbx.test",
                           global_var=lambda n: asked.append(n) or n.upper())
    assert expanded == "{sip_h_X-Site=SITE}sofia/INTERNAL_PROFILE/1002@{ext}.pbx.test"
    assert asked == ["site", "internal_profile"]
    with pytest.raises(InvalidArgument, match=r"\{ext\} has no value"):
        expand_dial("user/{ext}@{domain}", domain="pbx.test")


def test_operator_dial_keeps_its_prefix_and_the_callers_variables_win():
    dial = operator_dial("{sip_h_X-Who='A B',leg_timeout=20}[presence_id=1002@pbx]user/1002@pbx")
    assert isinstance(dial, OperatorDial)
    assert dial == "{sip_h_X-Who='A B',leg_timeout=20}[presence_id=1002@pbx]user/1002@pbx"
    built = dial_string(dial, {"origination_caller_id_name": "Parked 7001: Alice", "leg_timeout": 30})
    assert built == ("{sip_h_X-Who='A B',leg_timeout=30,origination_caller_id_name='Parked 7001: Alice'}"
                     "[presence_id=1002@pbx]user/1002@pbx")
    assert dial_string(operator_dial("user/1002@pbx"), {"x": "1"}) == "{x=1}user/1002@pbx"


@pytest.mark.parametrize("text, message", [
    ("{leg_timeout=${system(id)}}user/1", "'${'"),
    ("{leg_timeout=20", "not closed"),
    ("{leg_timeout}user/1", "is not a variable=value"),
    ("user/1,user/2", "contains ','"),
    ("user/1|user/2", "contains '|'"),
    ("<leg_timeout=1>user/1", "<...> prefix"),
    ("{leg_timeout=1}", "no endpoint"),
])
def test_operator_dial_refuses_what_it_cannot_send(text, message):
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        operator_dial(text)


# --- the prefix of an operator's dial string (issue 11, item 6) ----------------------------------

from fscontrol.esl.commands import OPERATOR_DIAL_VARIABLES  # noqa: E402


@pytest.mark.parametrize("text", [
    "{execute_on_answer=system touch /tmp/x}user/1", "{api_on_answer=system:x}user/1",
    "[api_hangup_hook=system:x]user/1", "{exec_after_bridge_app=system}user/1",
    "{leg_timeout=1,session_in_hangup_hook=true}user/1", "{origination_uuid=x}user/1",
    "{^^:execute_on_answer=x}user/1",
])
def test_operator_dial_prefix_may_set_only_call_setup_variables(text):
    with pytest.raises(InvalidArgument, match="may not be set in a dial string"):
        operator_dial(text)


@SETTINGS
@given(block=st.lists(st.tuples(st.sampled_from(sorted(OPERATOR_DIAL_VARIABLES) + [
    "execute_on_answer", "api_on_answer", "sip_h_X-A", "origination_uuid", "x"]), nasty_text), max_size=3),
       endpoint=st.one_of(st.just("user/1002@pbx.test"), nasty_text))
def test_an_operator_dial_string_never_smuggles_a_variable_or_a_line(block, endpoint):
    text = "{" + ",".join(f"{k}={v}" for k, v in block) + "}" + endpoint
    try:
        dial = operator_dial(text)
        command = originate_command(dial_string(dial, {"origination_uuid": "u-1"}), app="park")
    except InvalidArgument:
        return
    assert not re.search(r"[\r\n\x00]", command)
    parsed, rest = fs_read_dial_string(dial_string(dial, {"origination_uuid": "u-1"}))
    assert all(k in OPERATOR_DIAL_VARIABLES or k.startswith("sip_h_") or k == "origination_uuid"
               for k in parsed), parsed
    assert parsed["origination_uuid"] == "u-1" and rest == dial.endpoint


# --- what the switch would expand (issue 11, item 5) -----------------------------------------------

def test_sendmsg_refuses_an_argument_the_switch_would_expand():
    with pytest.raises(InvalidArgument, match="variable expansion"):
        sendmsg_execute("4dd0469c-954f-4986-bfd1-66ce8df778d9", "playback", "${system(id)}")


def test_hold_music_path_rule_is_the_broadcasts():
    from fscontrol.esl.commands import check_broadcast_path
    assert check_broadcast_path("path", "tone_stream://%(250,250,480,620)") == "tone_stream://%(250,250,480,620)"
    for bad in ("${system(id)}", "/music/a b.wav", "local_stream://{x}"):
        with pytest.raises(InvalidArgument):
            check_broadcast_path("path", bad)
