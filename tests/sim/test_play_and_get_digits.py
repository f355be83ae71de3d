"""The simulated `play_and_get_digits` against what FreeSWITCH 1.10's C code does
(mod_dptools.c play_and_get_digits_function, switch_ivr_play_say.c switch_play_and_get_digits /
switch_ivr_read, switch_ivr.c switch_ivr_collect_digits_count), case by case: the variables a
client reads afterwards (`<var>`, `<var>_invalid`, read_result, read_terminator_used) and the
invalid prompt's plays."""

import pytest
from waiting import until

from fscontrol.sim import SimSwitch

PROMPT = "tone_stream://%(300,0,500)"
INVALID = "silence_stream://50"


def dialplan():
    ext = []
    for name, data in {
        "four": f"0 4 1 1000 # {PROMPT} {INVALID} got ^1 300",
        "one": f"0 1 1 1000 # {PROMPT} {INVALID} got",
        "tries": f"1 4 2 1000 # {PROMPT} {INVALID} got ^1 300",
    }.items():
        ext.append(f'<extension name="{name}"><condition field="destination_number" '
                   f'expression="^{name}$"><action application="answer"/>'
                   f'<action application="play_and_get_digits" data="{data}"/>'
                   f'<action application="set" data="done=yes"/>'
                   f'<action application="park"/></condition></extension>')
    return '<include><context name="default">%s</context></include>' % "".join(ext)


@pytest.fixture
def sw():
    s = SimSwitch(dialplan=dialplan(), heartbeat=0).start()
    events = []
    s.add_listener(events.append)
    s.events = events
    yield s
    s.stop()


def _run(sw, number, keys=None):
    alice = sw.register("1001")
    ch = alice.dial(number)
    if keys:
        alice.wait_hearing("tone")
        alice.send_dtmf(keys)
    until(lambda: ch.vars.get("done") == "yes", 5, message="play_and_get_digits did not return")
    played = [e.get("Playback-File-Path") for e in sw.events
              if e.name == "PLAYBACK_START" and e.get("Unique-ID") == ch.uuid]
    return ch.vars, played


def test_digits_and_the_terminator_during_the_prompt(sw):
    v, played = _run(sw, "four", "12#")
    assert (v["got"], v["read_result"], v["read_terminator_used"]) == ("12", "success", "#")
    assert played == [PROMPT]


def test_pound_alone_with_max_digits_above_one_is_the_terminator(sw):
    # the key that ended the prompt is the first digit, "#" included; collect_digits_count then
    # finds the terminator in the buffer and cuts it there; min 0: success at once
    v, played = _run(sw, "four", "#")
    assert "got" not in v and v["read_result"] == "success" and v["read_terminator_used"] == "#"
    assert played == [PROMPT]


def test_pound_alone_with_one_digit_is_dropped_not_a_terminator(sw):
    # max 1: no collection runs, so no terminator is recorded; switch_ivr_read then empties a
    # one-key buffer holding a terminator: nothing read, the invalid prompt plays
    v, played = _run(sw, "one", "#")
    assert "got" not in v and v["read_result"] == "success" and "read_terminator_used" not in v
    assert played == [PROMPT, INVALID]


def test_a_regex_mismatch_keeps_the_digits_in_var_invalid(sw):
    v, played = _run(sw, "four", "55#")
    assert "got" not in v and v["got_invalid"] == "55"
    assert played == [PROMPT, INVALID]


def test_nothing_pressed_is_a_timeout_after_each_try(sw):
    v, played = _run(sw, "tries")
    assert "got" not in v and v["read_result"] == "failure"   # min 1 and no digit: TOO_SMALL
    assert played == [PROMPT, INVALID, PROMPT, INVALID]


def test_the_digit_timeout_ends_the_input(sw):
    v, _ = _run(sw, "four", "1")
    assert v["got"] == "1" and v["read_result"] == "timeout"   # p&g still succeeds: len >= min
