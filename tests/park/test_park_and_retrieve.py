"""Parking by the park code (dialled, or transferred with Referred-By), hold music, retrieval by
dialling the orbit, the empty orbit, retrievers racing, the caller hanging up while parked, and
50 calls parked at once — through the rendered dialplan in the simulated switch."""

import gevent
import pytest

from .conftest import park_range, until, with_test_timing


def test_dialled_park_code_parks_with_music_and_any_phone_retrieves(make_site):
    site = make_site()
    alice, carol = site.switch.register("1001", "Alice"), site.switch.register("1003", "Carol")
    call = alice.dial("*70")
    orbit = site.orbit_of(alice)
    assert site.config.ranges("park")[0].numbers.contains(orbit)
    alice.wait_hearing("music")
    assert site.rec.played[call.uuid] == ["local_stream://moh"]
    parked = site.service.store.by_orbit(orbit)
    assert (parked.caller_number, parked.parker, parked.state.value) == ("1001", None, "parked")
    until(lambda: site.rec.blf(orbit) == ["busy"])

    retriever = carol.dial(orbit)
    carol.wait_connected("1001")
    alice.wait_connected("1003")
    assert alice.hearing() == "voice" and carol.hearing() == "voice"
    until(lambda: site.service.store.by_orbit(orbit) is None)
    until(lambda: site.rec.blf(orbit) == ["busy", "idle"])
    assert site.log_actions(orbit) == ["park", "retrieve"]
    assert site.service.store.call_log(orbit)[1]["other_uuid"] == retriever.uuid
    carol.hangup()
    alice.wait_idle()


def test_transferred_call_names_the_referring_user_as_parker(make_site):
    site = make_site()
    alice = site.switch.register("1001", "Alice")
    # what sofia leaves on a call that 1002 blind-transferred (REFER) to the park code
    alice.dial("*70", variables={"referred_by_user": "1002",
                                 "sip_h_Referred-By": "<sip:1002@fscontrol.test>"})
    orbit = site.orbit_of(alice)
    assert site.service.store.by_orbit(orbit).parker == "1002"


@pytest.mark.parametrize("referred_by", [False, True])
def test_a_blind_transfer_to_the_park_code_makes_the_transferring_user_the_parker(make_site,
                                                                              referred_by):
    """Bob blind-transfers Alice to *70 from his phone; real phones often send the REFER with no
    Referred-By (live run 2026-12-01): the parker is Bob either way, and he is rung back."""
    site = make_site(timeout=1)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.auto_answer()
    alice.dial("1002")
    bob.wait_connected("1001")
    bob.ring_forever()
    bob.blind_transfer("*70", referred_by=referred_by)
    orbit = site.orbit_of(alice)
    assert site.service.store.by_orbit(orbit).parker == "1002"
    bob.wait_ringing(10)                       # the ring-back
    assert bob.channel.cid_num == orbit


def test_a_referred_by_naming_another_user_does_not_beat_the_leg_the_switch_knows(make_site):
    """Referred-By is what the phone says; the leg the call was bridged to is what the switch
    knows: Bob transfers, his phone claims Carol referred it, Bob is the parker."""
    site = make_site()
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.auto_answer()
    alice.dial("1002")
    bob.wait_connected("1001")
    site.switch.api.execute("uuid_setvar", "%s sip_h_Referred-By <sip:1003@fscontrol.test>"
                            % alice.channel.uuid)
    bob.blind_transfer("*70")
    orbit = site.orbit_of(alice)
    assert site.service.store.by_orbit(orbit).parker == "1002"


def test_a_stranger_transferring_with_a_users_caller_id_does_not_make_that_user_the_parker(
        make_site):
    """A trunk call (no authenticated user; caller id, From and Referred-By all say 1002, which
    a trunk may send) to Alice, who answers; the far end blind-transfers her to *70. The leg
    the switch knows is the trunk's, whose caller id proves nothing: no parker, so Bob is never
    rung back for a call he did not park."""
    from fscontrol.sim.channels import Channel
    from fscontrol.sim.endpoints import _inbound_announce
    from fscontrol.sim.phones import refer
    site = make_site()
    sw = site.switch
    alice, bob = sw.register("1001", "Alice"), sw.register("1002", "Bob")
    alice.auto_answer()
    trunk = Channel(sw, "sofia/external/+4930555", "inbound", kind="phone", cid_name="Bob",
                    cid_num="1002", dest="1001", context="public",
                    variables={"sip_from_user": "1002"}, source="mod_sofia")
    sw.track(trunk)
    _inbound_announce(trunk)
    trunk.start(("dialplan", "1001", sw.context))
    alice.wait_connected(timeout=5)
    refer(sw, trunk, "*70", "1002", "<sip:1002@%s>" % sw.domain)
    orbit = site.orbit_of(alice)
    assert site.service.store.by_orbit(orbit).parker is None


def test_a_blf_key_on_the_orbit_shows_who_is_parked_there(make_site):
    """What a phone subscribed to park+<orbit> shows (mod_sofia's NOTIFY, fscontrol.sim.blf):
    the live run of 2026-12-01 saw the note "Holding" whoever was parked; now the parked caller."""
    from fscontrol.sim.blf import BlfView
    site = make_site()
    alice, carol = site.switch.register("1001", "Alice"), site.switch.register("1003", "Carol")
    alice.dial("*70")
    orbit = site.orbit_of(alice)
    until(lambda: site.rec.phone_view.get(orbit) == BlfView("Parked: Alice", "on-the-phone",
                                                            "confirmed", "Alice"),
          message="the BLF key does not show Alice parked")
    carol.dial(orbit)
    alice.wait_connected("1003")
    until(lambda: site.rec.phone_view[orbit] == BlfView("Empty", "unknown", "terminated", "park"))


def test_empty_orbit_prompts_and_disconnects_never_parks_the_retriever(make_site):
    site = make_site()
    carol = site.switch.register("1003", "Carol")
    call = carol.dial("7042")
    carol.wait_idle()
    assert site.rec.played[call.uuid] == [site.config.park.prompt_empty_orbit]
    assert site.parked() == []
    assert site.log_actions() == ["retrieve_empty"]


def test_caller_hanging_up_while_parked_frees_the_orbit(make_site):
    site = make_site()
    alice = site.switch.register("1001", "Alice")
    alice.dial("*70")
    orbit = site.orbit_of(alice)
    alice.wait_hearing("music")
    alice.hangup()
    until(lambda: site.service.store.by_orbit(orbit) is None)
    until(lambda: site.rec.blf(orbit) == ["busy", "idle"])
    assert site.log_actions(orbit) == ["park", "abandon"]
    assert site.service.store.call_log(orbit)[1]["details"]["cause"] == "NORMAL_CLEARING"


def _race(site, retrievers):
    alice = site.switch.register("1001", "Alice")
    alice.dial("*70")
    orbit = site.orbit_of(alice)
    alice.wait_hearing("music")
    phones = [site.switch.register(str(5000 + i)) for i in range(retrievers)]
    for phone in phones:
        phone.dial(orbit)
    winner = until(lambda: alice.connected_to(), 10)
    losers = [p for p in phones if p.user != winner]
    for p in losers:
        p.wait_idle(10)
    assert alice.connected_to() == winner
    assert sum(p.connected_to() == "1001" for p in phones) == 1
    assert site.log_actions(orbit).count("retrieve") == 1
    assert site.log_actions().count("retrieve_empty") == retrievers - 1
    assert site.service.store.by_orbit(orbit) is None


def test_two_retrievers_race_exactly_one_connects(make_site):
    _race(make_site(), 2)


def test_ten_retrievers_race_exactly_one_connects(make_site):
    _race(make_site(), 10)


def test_fifty_calls_parked_at_once_get_fifty_distinct_orbits(make_site):
    site = make_site()
    phones = [site.switch.register(str(3000 + i)) for i in range(50)]
    started = gevent.get_hub().loop.now()
    for p in phones:
        p.dial("*70")
    until(lambda: len(site.parked()) == 50, 20)
    elapsed = gevent.get_hub().loop.now() - started
    orbits = {c.orbit for c in site.parked()}
    assert len(orbits) == 50
    for p in phones:
        p.wait_hearing("music")
    print(f"50 parks through the dialplan: {elapsed:.2f}s")


def test_full_range_a_direct_call_hears_the_prompt_then_the_disconnect_prompt(make_site, base_config):
    """Nobody transferred Bob to *70 and there is no fallback: he hears that no orbit is free,
    then the disconnect prompt, and is hung up (left in park, nobody would ever come)."""
    config = with_test_timing(base_config, orbits=[park_range("tiny", "7000", "7000")])
    site = make_site(config)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    alice.dial("*70")
    site.orbit_of(alice)
    call = bob.dial("*70")
    bob.wait_idle()
    assert site.rec.played[call.uuid] == [site.config.park.prompt_no_orbit,
                                          site.config.park.prompt_disconnect]
    assert site.log_actions() == ["park", "park_refused"]


def test_full_range_a_transferred_call_goes_back_to_the_parker(make_site, base_config):
    """Bob transferred Alice to *70 but no orbit is free: she hears the prompt and Bob's phone
    rings with her name, so the call stays with him."""
    config = with_test_timing(base_config, orbits=[park_range("tiny", "7000", "7000")])
    site = make_site(config)
    carol, alice, bob = (site.switch.register(u, n) for u, n in
                         (("1003", "Carol"), ("1001", "Alice"), ("1002", "Bob")))
    carol.dial("*70")
    site.orbit_of(carol)
    bob.ring_forever()
    call = alice.dial("*70", variables={"referred_by_user": "1002"})
    bob.wait_ringing(5)
    assert bob.display() == "Not parked - Alice"
    assert site.rec.played[call.uuid] == [site.config.park.prompt_no_orbit]
    bob.answer()
    alice.wait_connected("1002")
    until(lambda: site.log_actions()[-2:] == ["park_refused", "returned_to_parker"])


def test_full_range_parker_does_not_answer_the_call_goes_to_the_fallback(make_site, base_config):
    config = with_test_timing(base_config, orbits=[park_range("tiny", "7000", "7000")],
                              ringback_timeout=1, fallback="1003")
    site = make_site(config)
    alice, bob, carol = (site.switch.register(u, n) for u, n in
                         (("1001", "Alice"), ("1002", "Bob"), ("1003", "Carol")))
    occupant = site.switch.register("1009", "Zed")
    occupant.dial("*70")
    site.orbit_of(occupant)
    bob.ring_forever()
    carol.auto_answer()
    alice.dial("*70", variables={"referred_by_user": "1002"})
    bob.wait_ringing(5)
    alice.wait_connected("1003", timeout=10)
    until(lambda: site.log_actions()[-2:] == ["park_refused", "return_failed"])
