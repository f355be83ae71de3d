"""Park DTMF: in a call the dialplan bridged, either party presses park.dtmf_code; the other party
is parked, the presser hears the orbit, gets a SIP MESSAGE, and its leg ends."""

from .conftest import park_range, until, with_test_timing


def _bridged(site):
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected("1002")
    return alice, bob


def test_caller_presses_park_code_callee_is_parked(make_site):
    site = make_site()
    alice, bob = _bridged(site)
    presser = alice.channel.uuid
    alice.send_dtmf(site.config.park.dtmf_code)
    orbit = site.orbit_of(bob)
    bob.wait_hearing("music")
    alice.wait_idle(5)
    # the orbit spoken digit by digit, as mod_say_en plays it (one file_string of digit files)
    assert site.rec.played[presser] == ["file_string://" + "!".join(f"digits/{d}.wav" for d in orbit)]
    assert alice.messages == [(f"{orbit}@fscontrol.test", f"Bob parked at {orbit}")]
    call = site.service.store.by_orbit(orbit)
    assert (call.caller_number, call.caller_name, call.parker) == ("1002", "Bob", "1001")
    assert site.service.store.call_log(orbit)[0]["details"]["via"] == "dtmf"
    # and it is retrievable
    carol = site.switch.register("1003", "Carol")
    carol.dial(orbit)
    bob.wait_connected("1003")


def test_callee_presses_park_code_caller_is_parked_and_rung_back_to_the_callee(make_site):
    site = make_site(timeout=1, ringback_timeout=3)
    alice, bob = _bridged(site)
    bob.ring_forever()  # so the ring-back rings until answered below
    bob.send_dtmf("*1")
    orbit = site.orbit_of(alice)
    alice.wait_hearing("music")
    bob.wait_idle(5)
    call = site.service.store.by_orbit(orbit)
    assert (call.caller_number, call.parker) == ("1001", "1002")
    bob.wait_ringing(5)  # the ring-back goes to the parker
    assert bob.display() == f"Parked {orbit} - Alice"
    bob.answer()
    alice.wait_connected("1002")


def test_dtmf_park_with_every_orbit_taken_keeps_the_call_with_the_parker(make_site, base_config):
    site = make_site(with_test_timing(base_config, orbits=[park_range("tiny", "7000", "7000")]))
    carol = site.switch.register("1003", "Carol")
    carol.dial("*70")
    site.orbit_of(carol)
    alice, bob = _bridged(site)
    presser = alice.channel.uuid
    alice.send_dtmf("*1")
    until(lambda: site.rec.played[presser] == [site.config.park.prompt_no_orbit])
    until(lambda: alice.hearing() == "voice")
    assert alice.connected_to() == "1002" and bob.connected_to() == "1001"
    assert site.log_actions()[-1] == "park_refused"


def test_a_call_that_once_dialled_the_park_code_is_parked_once_when_parked_again_by_dtmf(make_site):
    """Channel variables outlive their extension: Alice's leg keeps fscontrol_action=park from
    her *70 through the fallback bridge; the DTMF park must not read it as a second park."""
    site = make_site(timeout=1, fallback="1003")
    alice, carol = site.switch.register("1001", "Alice"), site.switch.register("1003", "Carol")
    carol.auto_answer()
    alice.dial("*70")
    site.orbit_of(alice)
    alice.wait_connected("1003", timeout=5)  # no parker: the timeout sends her to the fallback
    uuid = alice.channel.uuid
    carol.send_dtmf("*1")
    until(lambda: (c := site.service.store.by_channel(uuid)) and c.orbit)
    alice.wait_hearing("music")
    carol.wait_idle(5)
    until(lambda: site.rec.played[uuid].count(site.config.park.music) >= 2)
    # the DTMF park held her only after her CHANNEL_PARK was dispatched, so a stale park started
    # by that event is already in flight: once the service is idle, it would have shown
    until(lambda: not site.service.busy)
    assert site.rec.played[uuid].count(site.config.park.music) == 2, site.rec.played[uuid]
    # by channel, not orbit: random allocation may hand her the orbit she had first
    assert [r["action"] for r in site.service.store.call_log() if r["channel_uuid"] == uuid] == \
        ["park", "fallback", "park"]
