"""Basic calls between users, written once and run on the simulated and the real switch.
Assertions are on what the users experience: ringing, whom they talk to, what they hear, how
their call ended."""


def test_answered_call_connects_both_users(backend):
    alice, bob = backend.phones("1001", "1002")
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected(to="1002")
    bob.wait_connected(to="1001")
    assert alice.hearing() == "voice" and bob.hearing() == "voice"
    assert alice.state == bob.state == "talking"


def test_ringing_phone_answered_by_hand(backend):
    alice, bob = backend.phones("1001", "1002")
    alice.dial("1002")
    bob.wait_ringing()
    assert alice.state == "dialing" and alice.hearing() in ("ringback", "silence")
    bob.answer()
    alice.wait_connected(to="1002")
    assert bob.connected_to() == "1001"


def test_caller_hangs_up_both_idle_normal_clearing(backend):
    alice, bob = backend.phones("1001", "1002")
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected(to="1002")
    alice.hangup()
    alice.wait_idle()
    bob.wait_idle()
    assert alice.last_hangup_cause == "NORMAL_CLEARING"
    assert bob.last_hangup_cause == "NORMAL_CLEARING"


def test_callee_hangs_up(backend):
    alice, bob = backend.phones("1001", "1002")
    bob.auto_answer()
    alice.dial("1002")
    bob.wait_connected(to="1001")
    bob.hangup()
    bob.wait_idle()
    alice.wait_idle()
    assert alice.last_hangup_cause == "NORMAL_CLEARING"


def test_answer_after_a_delay(backend):
    alice, bob = backend.phones("1001", "1002")
    bob.answer_after(0.5)
    alice.dial("1002")
    bob.wait_ringing()
    alice.wait_connected(to="1002", timeout=5)


def test_busy_callee_sends_caller_to_voicemail(backend, voicemail_controller):
    """Per the dialplan, a failed call to a user goes to that user's voicemail (the
    controller's: the dialplan parks the call for it)."""
    voicemail_controller()
    alice, bob = backend.phones("1001", "1002")
    bob.reject_busy()
    alice.dial("1002")
    alice.wait_for(lambda p: p.hearing() in ("prompt", "tone", "recording"), 5, "voicemail")
    alice.wait_hearing("recording", timeout=10)
    assert bob.state == "idle" and bob.last_hangup_cause == "USER_BUSY"
    alice.hangup()
    alice.wait_idle()
    assert alice.last_hangup_cause == "NORMAL_CLEARING"


def test_busy_rejection_while_ringing(backend, voicemail_controller):
    voicemail_controller()
    alice, bob = backend.phones("1001", "1002")
    alice.dial("1002")
    bob.wait_ringing()
    bob.reject_busy()
    bob.wait_idle()
    assert bob.last_hangup_cause == "USER_BUSY"
    alice.wait_hearing("recording", timeout=10)


def test_unanswered_call_times_out_to_voicemail(backend, voicemail_controller):
    """The dialplan rings a user voicemail.ring_timeout seconds (5 in tests/live/fscontrol.toml)."""
    ctl = voicemail_controller()
    alice, bob = backend.phones("1001", "1002")
    bob.ring_forever()
    alice.dial("1002")
    bob.wait_ringing()
    bob.wait_idle(timeout=ctl.config.voicemail.ring_timeout + 5)
    assert bob.last_hangup_cause in ("NO_ANSWER", "ORIGINATOR_CANCEL")
    alice.wait_hearing("recording", timeout=10)


def test_caller_gives_up_while_ringing(backend):
    alice, bob = backend.phones("1001", "1002")
    alice.dial("1002")
    bob.wait_ringing()
    alice.hangup()
    alice.wait_idle()
    bob.wait_idle()
    assert alice.last_hangup_cause == "ORIGINATOR_CANCEL"
    assert bob.last_hangup_cause == "ORIGINATOR_CANCEL"


def test_unregistered_user_goes_to_voicemail(backend, voicemail_controller):
    voicemail_controller()
    alice, bob = backend.phones("1001", "1002")
    bob.unregister()
    alice.dial("1002")
    alice.wait_hearing("recording", timeout=10)


def test_number_nobody_has_is_rejected(backend):
    alice = backend.phone("1001")
    alice.dial("5555")
    alice.wait_idle()
    assert alice.last_hangup_cause == "NO_ROUTE_DESTINATION"


def test_voicemail_code_prompts(backend, voicemail_controller):
    """*98 asks for the PIN (a tone: the switch needs no sound files)."""
    ctl = voicemail_controller()
    alice = backend.phone("1001")
    alice.dial("*98")
    alice.wait_for(lambda p: ctl.config.voicemail.prompt_pin in p.played(), 5, "the PIN prompt")
    alice.hangup()
    alice.wait_idle()


def test_dialled_orbit_parks_the_caller_for_the_controller(backend):
    """Without a controller the dialplan only answers and parks: the caller hears silence."""
    alice = backend.phone("1001")
    alice.dial("7005")
    alice.wait_for(lambda p: p.state == "talking", 5, "answered")
    assert alice.hearing() == "silence" and alice.connected_to() is None


def test_park_code_caller_hears_music(backend, park_controller):
    """With the controller running (Call Park), the park code parks the caller on hold music;
    tests/scenarios/test_park.py has the rest of Call Park."""
    park_controller()
    alice = backend.phone("1001")
    alice.dial("*70")
    alice.wait_hearing("music", timeout=3)
