"""Call Park scenarios, written once and run on the simulated and the real switch with the
controller (ParkFeature) attached. Assertions are on what the users experience: what they hear
(hold music, a prompt, the orbit spoken), whom they talk to, how their call ends, whose phone
rings and with which caller id, what a BLF key watching the orbit shows. The orbit a call got is read where an operator reads it: the
parked-calls view of `fscontrol parked`."""

from fscontrol.sim.apps import media_kind
from waiting import until


def _prompt(ctl, name):
    """What a configured prompt sounds like to the caller ("tone" for the default tones)."""
    return media_kind(getattr(ctl.config.park, "prompt_" + name))


def _park_by_code(ctl, phone):
    phone.dial(ctl.config.park.code)
    orbit = ctl.orbit_of(phone.user)
    phone.wait_hearing("music")
    return orbit


def _bridged(caller, callee):
    callee.auto_answer()
    caller.dial(callee.user)
    caller.wait_connected(to=callee.user)
    callee.wait_connected(to=caller.user)


def test_park_code_music_and_any_user_retrieves(backend, park_controller):
    ctl = park_controller()
    alice, carol = backend.phones("1001", "1003")
    orbit = _park_by_code(ctl, alice)
    assert ctl.config.ranges("park")[0].numbers.contains(orbit)
    assert alice.state == "talking" and alice.connected_to() is None
    until(lambda: backend.switch.blf(orbit) == "busy", message=f"BLF of {orbit} not busy")

    carol.dial(orbit)
    carol.wait_connected(to="1001")
    alice.wait_connected(to="1003")
    assert alice.hearing() == carol.hearing() == "voice"
    until(lambda: ctl.call_at(orbit) is None, message=f"orbit {orbit} still taken")
    until(lambda: backend.switch.blf(orbit) == "idle", message=f"BLF of {orbit} not idle")
    carol.hangup()
    alice.wait_idle()
    assert alice.last_hangup_cause == "NORMAL_CLEARING"


def test_dtmf_park_parks_the_other_party_and_announces_the_orbit(backend, park_controller):
    ctl = park_controller()
    alice, bob, carol = backend.phones("1001", "1002", "1003")
    _bridged(alice, bob)
    alice.send_dtmf(ctl.config.park.dtmf_code)
    orbit = ctl.orbit_of("1002")
    bob.wait_hearing("music")
    alice.wait_idle(10)  # hears the orbit, then her leg ends
    assert "prompt" in alice.heard(), alice.heard()
    assert bob.state == "talking" and bob.connected_to() is None

    carol.dial(orbit)
    bob.wait_connected(to="1003")
    carol.wait_connected(to="1002")


def test_empty_orbit_prompts_and_hangs_up(backend, park_controller):
    ctl = park_controller()
    carol = backend.phone("1003")
    carol.dial("7005")
    carol.wait_idle(10)
    assert _prompt(ctl, "empty_orbit") in carol.heard(), carol.heard()
    assert carol.last_hangup_cause == "NORMAL_CLEARING"
    assert ctl.parked() == []  # the retriever was never parked


def test_two_retrievers_race_exactly_one_connects(backend, park_controller):
    ctl = park_controller()
    alice, carol, dave = backend.phones("1001", "1003", "1004")
    orbit = _park_by_code(ctl, alice)
    carol.dial(orbit)
    dave.dial(orbit)
    winner = until(alice.connected_to, 10, message="nobody retrieved the call")
    assert winner in ("1003", "1004")
    loser = dave if winner == "1003" else carol
    loser.wait_idle(10)
    assert _prompt(ctl, "empty_orbit") in loser.heard(), loser.heard()
    assert alice.connected_to() == winner
    assert [p.connected_to() for p in (carol, dave)].count("1001") == 1


def test_timeout_rings_the_parker_back_then_the_fallback(backend, park_controller):
    """Bob parks Alice with the park DTMF; nobody retrieves her: Bob's phone rings with
    "Parked <orbit> - Alice", he does not answer, the fallback (Dave, 1004) rings and answers."""
    ctl = park_controller(timeout=1, ringback_timeout=2, max_attempts=1, fallback="1004")
    alice, bob, dave = backend.phones("1001", "1002", "1004")
    _bridged(alice, bob)
    bob.ring_forever()  # his next call rings until he answers (he won't)
    bob.send_dtmf(ctl.config.park.dtmf_code)
    orbit = ctl.orbit_of("1001")
    alice.wait_hearing("music")
    # the ring-back may ring while Bob's first call is still ending after the spoken orbit
    # (timeout 1 s, the announcement ~1 s on the real switch): wait for what he sees, in order
    bob.wait_ringing(10)
    assert bob.channel.cid_name == f"Parked {orbit} - Alice"
    assert alice.hearing() == "music"  # never silence or ringing while the parker is rung
    bob.wait_idle(10)
    assert "prompt" in bob.heard(), bob.heard()   # he heard the orbit announced
    dave.wait_ringing(10)
    dave.answer()
    alice.wait_connected(to="1004")
    dave.wait_connected(to="1001")
    assert ctl.call_at(orbit) is None


def test_no_answer_and_no_fallback_prompts_and_disconnects(backend, park_controller):
    ctl = park_controller(timeout=1, fallback="")
    alice = backend.phone("1001")
    _park_by_code(ctl, alice)
    alice.wait_idle(10)
    assert alice.heard()[-1] == _prompt(ctl, "disconnect"), alice.heard()
    assert alice.last_hangup_cause == "NORMAL_CLEARING"


def test_hanging_up_while_parked_frees_the_orbit(backend, park_controller):
    ctl = park_controller()
    alice, carol = backend.phones("1001", "1003")
    orbit = _park_by_code(ctl, alice)
    alice.hangup()
    alice.wait_idle()
    assert alice.last_hangup_cause == "NORMAL_CLEARING"
    until(lambda: ctl.call_at(orbit) is None, message=f"orbit {orbit} still taken")
    carol.dial(orbit)  # nobody there any more
    carol.wait_idle(10)
    assert _prompt(ctl, "empty_orbit") in carol.heard(), carol.heard()


def test_controller_killed_and_restarted_parked_calls_survive(backend, park_controller):
    """kill -9 with two calls parked: the switch keeps them on hold music; the restarted
    controller (same database) lets one be retrieved and times the other out to the fallback."""
    ctl = park_controller(timeout=3, fallback="1004")
    alice, bob, carol, dave = backend.phones("1001", "1002", "1003", "1004")
    dave.auto_answer()
    first = _park_by_code(ctl, alice)
    _park_by_code(ctl, carol)
    ctl.crash()
    assert alice.hearing() == carol.hearing() == "music"
    assert {c.caller_number for c in ctl.parked()} == {"1001", "1003"}

    ctl.start()
    bob.dial(first)
    alice.wait_connected(to="1002")
    bob.wait_connected(to="1001")
    carol.wait_connected(to="1004", timeout=10)  # timed out while parked -> the fallback
    until(lambda: ctl.parked() == [], message="calls still parked")
