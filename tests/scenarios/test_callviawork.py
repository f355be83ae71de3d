"""Call Via Work scenarios, written once and run on the simulated and the real switch with the
controller `fscontrol run` builds. Assertions are on what the users experience: whose phone
rings first and with which caller ID, who is called when, whom they talk to, what they hear
(a prompt, hold music, a conference), how their call ends; and the typed outcome the service
reports for it.

Phones are the harness's virtual phones (tests/livephones.py): loopback channels, so "the
destination's phone itself" is `loopback/{number}/phones` (the failure scenarios dial it
directly: through the dialplan a busy or unanswered user goes to voicemail, which answers).
Users (tests/live/fscontrol.toml): Alice 1001, Bob 1002, Carol 1003;
call_via_work.caller_id_number +15550100."""

import time

import pytest

from fscontrol.callviawork import DeviceUnregistered
from waiting import until

PHONE = "loopback/{number}/phones"


def _state(p, state, timeout=10):
    until(lambda: p.state.value == state, timeout,
          message=f"call via work {p.id}: never {state} (is {p.state.value}, outcome {p.outcome})")


def _connected(cvw, alice, bob, **kw):
    alice.auto_answer()
    bob.auto_answer()
    p = cvw.service.place("1001", "1002", **kw)
    _state(p, "connected")
    alice.wait_connected(to="1002", timeout=10)
    bob.wait_connected(to="1001", timeout=10)
    return p


def test_device_rings_first_with_the_global_caller_id_then_the_destination(backend, cvw_controller):
    cvw = cvw_controller()
    alice, bob = backend.phones("1001", "1002")
    bob.auto_answer()
    p = cvw.service.place("1001", "1002")
    alice.wait_ringing(10)
    assert (alice.channel.cid_name, alice.channel.cid_number) == ("Call Via Work", "+15550100")
    assert bob.state == "idle"                    # not called before Alice answers
    assert p.state.value == "ringing_user"
    alice.answer()
    bob.wait_connected(to="1001", timeout=10)
    alice.wait_connected(to="1002", timeout=10)
    # Bob sees Alice's own caller ID, from the configuration, not the global one
    assert (bob.channel.cid_name, bob.channel.cid_number) == ("Alice", "1001")
    _state(p, "connected")
    bob.hangup()
    alice.wait_idle(10)
    _state(p, "ended")
    assert p.outcome == "completed"


def test_unregistered_device_is_an_error_at_once(backend, cvw_controller):
    cvw = cvw_controller()
    alice, bob = backend.phones("1001", "1002")
    alice.unregister()
    t = time.monotonic()
    with pytest.raises(DeviceUnregistered) as e:
        cvw.service.place("1001", "1002")
    assert time.monotonic() - t < 3
    assert (e.value.id, e.value.kind) == ("device_unregistered", "conflict")
    assert bob.state == "idle"


@pytest.mark.parametrize("behave, outcome", [
    ("busy", "user_busy"), ("no_answer", "user_no_answer"), ("reject", "user_rejected")])
def test_user_device_failures(backend, cvw_controller, behave, outcome):
    cvw = cvw_controller(user_timeout=2)
    alice, bob = backend.phones("1001", "1002")
    if behave == "busy":
        alice.reject_busy()
    p = cvw.service.place("1001", "1002")
    if behave == "reject":
        alice.wait_ringing(10)
        alice.hangup()
    _state(p, "failed")
    assert p.outcome == outcome
    assert bob.state == "idle" and bob.calls == []


@pytest.mark.parametrize("behave, outcome, prompt", [
    ("busy", "destination_busy", "prompt_busy"),
    ("no_answer", "destination_no_answer", "prompt_no_answer"),
    ("no_route", "destination_failed", "prompt_failed")])
def test_destination_failures_prompt_then_hang_up(backend, cvw_controller, behave, outcome, prompt):
    if behave == "no_route":                 # through the dialplan, to a number with no route
        cvw, destination = cvw_controller(), "5555"
    else:
        cvw, destination = cvw_controller(destination_dial_string=PHONE, destination_timeout=2), "1002"
    alice, bob = backend.phones("1001", "1002")
    alice.auto_answer()
    if behave == "busy":
        bob.reject_busy()
    elif behave == "no_answer":
        bob.ring_forever()
    p = cvw.service.place("1001", destination)
    _state(p, "failed", 15)
    assert p.outcome == outcome
    alice.wait_idle(15)
    call = alice.calls[-1]
    assert getattr(cvw.service.cvw, prompt) in alice.played(call), alice.played(call)
    assert alice.last_hangup_cause == "NORMAL_CLEARING"


def test_cancel_while_the_device_rings(backend, cvw_controller):
    cvw = cvw_controller()
    alice, bob = backend.phones("1001", "1002")
    p = cvw.service.place("1001", "1002")
    alice.wait_ringing(10)
    cvw.service.cancel(p.id)
    alice.wait_idle(10)
    assert p.state.value == "cancelled"
    assert bob.calls == []


def test_cancel_while_the_destination_rings(backend, cvw_controller):
    cvw = cvw_controller(destination_dial_string=PHONE)
    alice, bob = backend.phones("1001", "1002")
    alice.auto_answer()
    bob.ring_forever()
    p = cvw.service.place("1001", "1002")
    bob.wait_ringing(10)
    _state(p, "calling_destination")
    cvw.service.cancel(p.id)
    bob.wait_idle(10)
    alice.wait_idle(10)
    assert p.state.value == "cancelled"


def test_hold_plays_hold_music_to_the_other_party(backend, cvw_controller):
    cvw = cvw_controller(destination_dial_string=PHONE)
    alice, bob = backend.phones("1001", "1002")
    p = _connected(cvw, alice, bob)
    cvw.control.hold(p.id)
    bob.wait_hearing("music", timeout=10)
    assert alice.state == "talking"


def test_blind_transfer_mid_call(backend, cvw_controller):
    cvw = cvw_controller(destination_dial_string=PHONE)
    alice, bob, carol = backend.phones("1001", "1002", "1003")
    p = _connected(cvw, alice, bob)
    carol.auto_answer()
    cvw.control.transfer(p.id, "1003")
    bob.wait_connected(to="1003", timeout=10)
    carol.wait_connected(to="1002", timeout=10)
    alice.wait_idle(10)
    _state(p, "ended")
    assert p.outcome == "transferred"


def test_park_mid_call_and_retrieve(backend, cvw_controller):
    cvw = cvw_controller(destination_dial_string=PHONE)
    alice, bob, carol = backend.phones("1001", "1002", "1003")
    p = _connected(cvw, alice, bob)
    orbit = cvw.control.park(p.id)
    bob.wait_hearing("music", timeout=10)
    alice.wait_idle(10)
    carol.dial(orbit)
    bob.wait_connected(to="1003", timeout=10)
    carol.wait_connected(to="1002", timeout=10)


def test_conference_dial_out(backend, cvw_controller):
    cvw = cvw_controller()
    alice, bob = backend.phones("1001", "1002")
    alice.auto_answer()
    bob.auto_answer()
    first = cvw.control.dial_into_conference("3000", "1001")
    alice.wait_hearing("conference", timeout=10)
    second = cvw.control.dial_into_conference("3000", "1002")
    bob.wait_hearing("conference", timeout=10)
    _state(first, "connected")
    _state(second, "connected")
    listing = backend.api("conference list")   # as recorded in trace s11
    assert first.id in listing and second.id in listing, listing
    alice.hangup()
    _state(first, "ended")
    assert bob.hearing() == "conference"


def test_early_media_from_the_device_is_no_answer(backend, cvw_controller):
    """ignore_early_media on the device's leg: a phone that only sends 183 and a tone never
    counts as answered, so the destination is never called on its behalf."""
    cvw = cvw_controller(user_timeout=2)
    alice, bob = backend.phones("1001", "1002")
    alice.early_media()
    bob.auto_answer()
    p = cvw.service.place("1001", "1002")
    _state(p, "failed")
    assert p.outcome == "user_no_answer"
    assert bob.calls == []
