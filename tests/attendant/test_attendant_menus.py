"""Menus on the simulated switch with a frozen clock (tests/live/fscontrol.toml's attendants, as
tests/scenarios/test_attendant.py): what the scenarios do not cover there, i.e. announcements,
voicemail keys, * and 0, the after-hours menu's dial by extension after # only, a key during the
greeting, dial by name finding nobody, and a call left waiting while the controller was away."""

from attendantrig import at
from waiting import until

MAIN = "8000"
OPEN = at("2026-03-30 09:00", "Europe/Berlin")
CLOSED = at("2026-03-30 20:00", "Europe/Berlin")


def _menu(ctl, name):
    return getattr(next(a for a in ctl.config.attendants if a.number == MAIN), name)


def _count(phone, call, path):
    return phone.played(call).count(path)


def test_an_announcement_plays_then_the_menu_again(sim, attendant):
    ctl = attendant(OPEN)
    greeting = _menu(ctl, "business_hours").greeting
    announcement = dict(_menu(ctl, "business_hours").keys)["3"].split(":", 1)[1]
    erin = sim.phone("1005")
    call = erin.dial(MAIN)
    until(lambda: greeting in erin.played(call), 10)
    erin.send_dtmf("3")
    until(lambda: _count(erin, call, greeting) == 2, 10, message=str(erin.played(call)))
    played = erin.played(call)
    assert played.index(announcement) < len(played) - 1
    erin.hangup()
    erin.wait_idle()


def test_a_voicemail_key_leaves_a_message_in_that_box(sim, attendant):
    attendant(OPEN)
    erin = sim.phone("1005")
    erin.dial(MAIN)
    erin.wait_hearing("tone", 10)
    erin.send_dtmf("4")                                  # voicemail:1001
    erin.wait_hearing("recording", 10)
    erin.hangup()
    until(lambda: ("1001", "1005") in sim.sim.voicemails, 5, message=str(sim.sim.voicemails))


def test_star_repeats_the_menu_and_zero_is_the_operator(sim, attendant):
    from fscontrol import metrics
    to_operator = metrics.attendant_outcomes.labels(MAIN, "operator")
    before = to_operator._value.get()
    ctl = attendant(OPEN)
    greeting = _menu(ctl, "business_hours").greeting
    erin, dave = sim.phones("1005", "1004")
    dave.auto_answer()
    call = erin.dial(MAIN)
    until(lambda: greeting in erin.played(call), 10)
    erin.send_dtmf("*")
    until(lambda: _count(erin, call, greeting) == 2, 10)
    assert ctl.config.attendant.prompt_invalid not in erin.played(call)
    erin.send_dtmf("0")
    erin.wait_connected(to="1004", timeout=10)
    assert to_operator._value.get() == before + 1
    erin.hangup()
    dave.wait_idle()


def test_after_hours_dials_an_extension_only_after_pound(sim, attendant):
    ctl = attendant(CLOSED)
    greeting = _menu(ctl, "after_hours").greeting
    erin, carol = sim.phones("1005", "1003")
    carol.auto_answer()
    call = erin.dial(MAIN)
    until(lambda: greeting in erin.played(call), 10)
    erin.send_dtmf("3")                   # one key is read ("pound": no direct dialling)
    until(lambda: ctl.config.attendant.prompt_invalid in erin.played(call), 10)
    until(lambda: _count(erin, call, greeting) == 2, 10)
    erin.send_dtmf("#")
    until(lambda: ctl.config.attendant.prompt_extension in erin.played(call), 10)
    erin.send_dtmf("1003")                # ends at the longest extension's length
    erin.wait_connected(to="1003", timeout=10)
    erin.hangup()
    carol.wait_idle()


def test_a_key_during_the_greeting_ends_it(sim, attendant):
    ctl = attendant(OPEN)
    erin, bob = sim.phones("1005", "1002")
    bob.auto_answer()
    greeting = _menu(ctl, "business_hours").greeting
    call = erin.dial(MAIN)
    until(lambda: erin.hearing() == "tone" and greeting in erin.played(call), 10)
    erin.send_dtmf("1")                   # the 300 ms greeting is still playing
    erin.wait_connected(to="1002", timeout=5)
    assert call.alive
    erin.hangup()
    bob.wait_idle()


def test_dial_by_name_finding_nobody_counts_as_a_failed_input(sim, attendant):
    ctl = attendant(OPEN)
    p = ctl.config.attendant
    erin, dave = sim.phones("1005", "1004")
    dave.auto_answer()
    call = erin.dial(MAIN)
    erin.wait_hearing("tone", 10)
    erin.send_dtmf("9")
    until(lambda: p.prompt_name in erin.played(call), 10)
    erin.send_dtmf("999#")                 # nobody's name starts with W/X/Y/Z three times
    until(lambda: p.prompt_invalid in erin.played(call), 10)
    erin.wait_connected(to="1004", timeout=15)     # then one timeout: 2 failures, the operator
    service = ctl.feature.service
    call = until(lambda: next((c for c in service.finished if c.state.value == "operator"), None))
    assert [(a.value, b.value) for a, b, _ in call.history] == [
        ("menu", "dial_by_name"), ("dial_by_name", "menu"), ("menu", "operator")]
    assert call.history[-1][2] == {"extension": "1004", "reason": "2 failed inputs"}
    erin.hangup()
    dave.wait_idle()


def test_a_call_waiting_at_the_attendant_while_the_controller_was_away_gets_its_menu(sim, attendant):
    erin = sim.phone("1005")
    erin.dial(MAIN)                        # answered and parked by the dialplan, nobody watching
    until(lambda: any(ch.dest == MAIN and ch.parked for ch in sim.sim.channels()), 5)
    ctl = attendant(OPEN)
    until(lambda: _menu(ctl, "business_hours").greeting in erin.played(), 10,
          message=str(erin.played()))
    erin.hangup()
    erin.wait_idle()


def test_with_call_park_running_a_voicemail_key_takes_parks_voicemail_path(sim, database, tmp_path):
    """As `fscontrol run` wires it (Call Park attached first): the attendant's voicemail keys go
    through the park service's `send_to_voicemail`, the path of a `voicemail:<box>` fallback,
    which the controller's voicemail (fscontrol.voicemail) answers: a message for the box."""
    import dataclasses
    from attendantrig import FrozenClock
    from fscontrol.attendant import AttendantFeature
    from fscontrol.controller import Controller, make_client
    from fscontrol.park import ParkFeature
    from fscontrol.voicemail import Mailboxes, VoicemailFeature
    from parkrig import migrate
    migrate(database)
    config = dataclasses.replace(sim.config, voicemail=dataclasses.replace(
        sim.config.voicemail, storage=str(tmp_path / "voicemail"), min_message=0))
    esl = make_client(config, connect_timeout=2, command_timeout=5, heartbeat_interval=None,
                      backoff=(0.02, 0.2))
    controller = Controller(config, database, esl)
    controller.features += [ParkFeature("ctl-attendant"), AttendantFeature(FrozenClock(OPEN)),
                            VoicemailFeature()]
    controller.start()
    try:
        assert esl.wait_connected(5)
        service = controller.feature("attendant").service
        assert service.voicemail == controller.feature("park").service.send_to_voicemail
        erin = sim.phone("1005")
        erin.dial(MAIN)
        erin.wait_hearing("tone", 10)
        erin.send_dtmf("4")                              # voicemail:1001
        erin.wait_hearing("recording", 10)
        erin.hangup()
        boxes = Mailboxes(config, database)
        [m] = until(lambda: boxes.messages("1001"), 10, message="no message for 1001")
        assert m.caller_number == "1005"
    finally:
        controller.stop()
