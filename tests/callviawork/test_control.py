"""Mid-call control of a Call Via Work call on the simulated switch (SIP phones: the user/
endpoint): hold (the other party hears the hold music) and resume, blind transfer, park through
Call Park (the user is the parker), hang-up; conference dial-out; the errors named."""

import pytest

from fscontrol.callviawork import CallNotConnected, CallNotFound, DestinationNotAllowed
from waiting import until

DIRECT = "user/{number}@{domain}"


def _connected(site):
    alice, bob = site.phone("1001"), site.phone("1002")
    alice.auto_answer()
    bob.auto_answer()
    p = site.service.place("1001", "1002")
    site.wait_state(p, "connected")
    alice.wait_connected(to="1002")
    return p, alice, bob


def test_hold_plays_music_to_the_other_party_and_resume_ends_it(make_site):
    site = make_site(destination_dial_string=DIRECT)
    p, alice, bob = _connected(site)
    site.control.hold(p.id)
    bob.wait_hearing("music")
    assert site.config.call_via_work.hold_music in site.played.by_channel[p.destination_leg]
    site.control.resume(p.id)
    bob.wait_hearing("voice")
    assert alice.connected_to() == "1002"


def test_blind_transfer_sends_the_other_party_on_and_the_user_leaves(make_site):
    site = make_site(destination_dial_string=DIRECT)
    p, alice, bob = _connected(site)
    carol = site.phone("1003")
    carol.auto_answer()
    site.control.transfer(p.id, "1003")
    bob.wait_connected(to="1003", timeout=10)
    alice.wait_idle()
    site.wait_state(p, "ended")
    assert p.outcome == "transferred"


def test_transfer_target_must_be_allowed(make_site):
    site = make_site(destination_dial_string=DIRECT)
    p, alice, bob = _connected(site)
    with pytest.raises(DestinationNotAllowed) as e:
        site.control.transfer(p.id, "*70")
    assert e.value.field == "target"
    assert alice.connected_to() == "1002"


def test_park_puts_the_other_party_in_an_orbit_with_the_user_as_parker(make_site):
    site = make_site(destination_dial_string=DIRECT)
    p, alice, bob = _connected(site)
    orbit = site.control.park(p.id)
    park = site.controller.feature("park").service
    call = park.store.by_orbit(orbit)
    assert call.caller_number == "1002" and call.parker == "1001"
    bob.wait_hearing("music")
    alice.wait_idle()
    site.wait_state(p, "ended")
    assert p.outcome == "parked"
    carol = site.phone("1003")
    carol.dial(orbit)
    bob.wait_connected(to="1003")


def test_hangup(make_site):
    site = make_site(destination_dial_string=DIRECT)
    p, alice, bob = _connected(site)
    site.control.hangup(p.id)
    alice.wait_idle()
    bob.wait_idle()
    site.wait_state(p, "ended")
    assert p.outcome == "hung_up"


def test_control_errors(make_site):
    site = make_site()
    alice = site.phone("1001")
    with pytest.raises(CallNotFound) as e:
        site.control.hold("00000000-0000-0000-0000-000000000000")
    assert (e.value.field, e.value.kind) == ("call_id", "not_found")
    p = site.service.place("1001", "1002")
    alice.wait_ringing()
    with pytest.raises(CallNotConnected):
        site.control.transfer(p.id, "1003")


def test_conference_dial_out_rings_the_user_and_joins_the_room(make_site):
    site = make_site()
    alice = site.phone("1001")
    p = site.control.dial_into_conference("3000", "1001")
    alice.wait_ringing()
    assert alice.channel.cid_name == "Conference 3000"
    alice.answer()
    site.wait_state(p, "connected")
    alice.wait_hearing("conference")
    assert [ch.uuid for ch in site.switch.conferences.members("3000")] == [p.id]
    alice.hangup()
    site.wait_state(p, "ended")
    until(lambda: site.switch.conferences.members("3000") == [], message="room not empty")
