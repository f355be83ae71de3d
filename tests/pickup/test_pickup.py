"""Group Call Pickup and directed pickup through the rendered dialplan in the simulated switch,
asserted on what users see: who is connected to whom, whose phone stops ringing and why (a
picked-off call is "completed elsewhere", not missed), the prompt a picker hears, the messages,
the BLF key of the group, the call_log."""

import dataclasses

import pytest

from fscontrol.config.model import User
from fscontrol.pickup import InTwoGroups
from waiting import until

GROUP = "*8001"          # the example config's group: 1001, 1002, 1003


@pytest.fixture
def site(make_site, base_config):
    """The example site (Alice 1001, Bob 1002, Carol 1003 in group *8001) with two users in no
    group, Dave 1004 and Erin 1005."""
    config = dataclasses.replace(base_config, users=base_config.users + (
        User("1004", "Dave"), User("1005", "Erin")))
    return make_site(config)


def _phones(site, *users):
    names = {u.extension: u.name for u in site.config.users}
    return [site.switch.register(u, names.get(u, u)) for u in users]


def _ring(site, caller, callee):
    callee.ring_forever()
    caller.dial(callee.user)
    callee.wait_ringing()


def test_a_member_picks_up_the_longest_ringing_call_of_the_group(site):
    alice, bob, carol, dave, erin = _phones(site, "1001", "1002", "1003", "1004", "1005")
    _ring(site, dave, bob)            # rings first
    _ring(site, erin, carol)
    alice.dial(GROUP)
    alice.wait_connected("1004")      # Dave's call, the longest ringing
    dave.wait_connected("1001")
    bob.wait_idle()
    assert bob.last_hangup_cause == "PICKED_OFF"   # mod_sofia: "Call completed elsewhere"
    assert carol.state == "ringing"                 # the other call still rings Carol
    until(lambda: bob.messages == [("1001@fscontrol.test", "Dave's call picked up by 1001")],
          message="Bob was not told who took his call")
    rows = site.pickup.store.call_log()
    assert [(r["action"], r["number"], r["details"]["member"]) for r in rows] == [
        ("pickup", GROUP, "1002")]


def test_nothing_ringing_plays_the_prompt_and_hangs_up(site):
    (alice,) = _phones(site, "1001")
    call = alice.dial(GROUP)
    alice.wait_idle()
    assert site.rec.played[call.uuid] == [site.config.pickup.prompt_nothing_ringing]
    assert [r["action"] for r in site.pickup.store.call_log()] == ["pickup_empty"]


def test_a_members_own_outbound_call_in_early_media_is_not_pickable(site):
    alice, bob, dave = _phones(site, "1001", "1002", "1004")
    dave.ring_forever()
    bob.dial("1004")                  # Bob (a member) calls out; Dave's phone rings
    dave.wait_ringing()
    call = alice.dial(GROUP)
    alice.wait_idle()
    assert site.rec.played[call.uuid] == [site.config.pickup.prompt_nothing_ringing]
    assert dave.state == "ringing" and bob.state == "dialing"


def test_an_answered_call_is_not_pickable(site):
    alice, bob, dave = _phones(site, "1001", "1002", "1004")
    bob.auto_answer()
    dave.dial("1002")
    dave.wait_connected("1002")
    alice.dial(GROUP)
    alice.wait_idle()
    assert dave.connected_to() == "1002"


def test_a_non_member_is_refused(site):
    bob, dave, erin = _phones(site, "1002", "1004", "1005")
    _ring(site, dave, bob)
    call = erin.dial(GROUP)           # Erin is in no group; the group's pickers are its members
    erin.wait_idle()
    assert site.rec.played[call.uuid] == [site.config.pickup.prompt_refused]
    assert bob.state == "ringing"
    assert [r["action"] for r in site.pickup.store.call_log()] == ["pickup_refused"]


def test_directed_pickup_takes_the_call_ringing_that_user(site):
    alice, bob, carol, dave, erin = _phones(site, "1001", "1002", "1003", "1004", "1005")
    _ring(site, dave, bob)
    _ring(site, erin, carol)
    alice.dial("**1003")
    alice.wait_connected("1005")
    assert bob.state == "ringing"
    carol.wait_idle()
    assert carol.last_hangup_cause == "PICKED_OFF"


def test_two_pickers_race_for_one_call_exactly_one_is_connected(site):
    alice, bob, carol, dave = _phones(site, "1001", "1002", "1003", "1004")
    for _round in range(10):
        _ring(site, dave, bob)
        a, c = alice.dial(GROUP), carol.dial(GROUP)
        until(lambda: dave.connected_to() in ("1001", "1003"), message="nobody picked up")
        winner = alice if dave.connected_to() == "1001" else carol
        loser = carol if winner is alice else alice
        loser.wait_idle()
        assert winner.connected_to() == "1004"
        assert site.rec.played[(c if loser is carol else a).uuid] == [
            site.config.pickup.prompt_nothing_ringing]
        dave.hangup()
        winner.wait_idle()
        bob.wait_idle()


def test_a_caller_who_hangs_up_before_the_pickup_leaves_nothing_half_bridged(site):
    alice, bob, dave = _phones(site, "1001", "1002", "1004")
    _ring(site, dave, bob)
    dave.hangup()
    call = alice.dial(GROUP)
    alice.wait_idle()
    assert site.rec.played[call.uuid] == [site.config.pickup.prompt_nothing_ringing]
    bob.wait_idle()


def test_the_groups_blf_key_rings_while_a_members_call_rings(site):
    alice, bob, dave = _phones(site, "1001", "1002", "1004")
    until(lambda: site.rec.pickup_blf(GROUP)[-1:] == ["idle"], message="no initial BLF")
    _ring(site, dave, bob)
    until(lambda: site.rec.pickup_blf(GROUP)[-1:] == ["ringing"], message="BLF not ringing")
    alice.dial(GROUP)
    alice.wait_connected("1004")
    until(lambda: site.rec.pickup_blf(GROUP)[-1:] == ["idle"], message="BLF not idle again")
    assert site.rec.pickup_blf(GROUP) == ["idle", "ringing", "idle"]


def test_runtime_assignment_changes_the_next_pickup_without_a_restart(site):
    bob, dave, erin = _phones(site, "1002", "1004", "1005")
    svc = site.pickup
    groups = svc.current_groups()
    svc.groups.check_add(groups, GROUP, "1005")
    svc.store.assign("1005", GROUP)            # what `fscontrol pickup-group add` does
    _ring(site, dave, bob)
    erin.dial(GROUP)
    erin.wait_connected("1004")
    svc.store.assign("1005", None)             # `remove`
    _ring(site, dave, bob)
    erin.dial(GROUP)
    erin.wait_idle()
    assert bob.state == "ringing"


def test_a_user_is_in_at_most_one_group(site):
    svc = site.pickup
    with pytest.raises(InTwoGroups, match="1002 not added to \\*8002: already in group \\*8001"):
        svc.groups.check_add(svc.current_groups(), "*8002", "1002")


def test_a_parked_call_is_not_pickable_but_its_ring_back_is(make_site):
    site = make_site(timeout=1, ringback_timeout=20)
    alice, bob, carol = _phones(site, "1001", "1002", "1003")
    bob.ring_forever()
    alice.dial("*70", variables={"referred_by_user": "1002"})
    orbit = site.orbit_of(alice)
    bob.wait_ringing(10)                       # the ring-back "Parked <orbit> - Alice"
    carol.dial(GROUP)
    alice.wait_connected("1003")
    bob.wait_idle()
    assert bob.last_hangup_cause == "PICKED_OFF"
    assert site.service.store.by_orbit(orbit) is None
    assert site.log_actions(orbit)[-1] == "retrieve"


def test_a_picker_waiting_while_no_controller_was_connected_is_served_after(site):
    alice, bob, dave = _phones(site, "1001", "1002", "1004")
    _ring(site, dave, bob)
    site.switch.refuse_connections()
    site.switch.drop_connections()
    until(lambda: not site.esl.connected, message="still connected")
    alice.dial(GROUP)                  # its CHANNEL_PARK reaches no controller
    alice.wait_for(lambda p: p.state == "talking", 5, "the pickup number answering")
    site.switch.refuse_connections(False)
    alice.wait_connected("1004", timeout=15)


def test_a_call_transferred_to_a_member_is_pickable(site):
    """Its caller is already answered (by whoever transferred it): still a call ringing Bob."""
    alice, bob, dave, erin = _phones(site, "1001", "1002", "1004", "1005")
    erin.auto_answer()
    bob.ring_forever()
    dave.dial("1005")
    dave.wait_connected("1005")
    erin.blind_transfer("1002")          # Erin (reception) sends Dave to Bob
    bob.wait_ringing()
    alice.dial(GROUP)
    alice.wait_connected("1004")
    bob.wait_idle()
    assert bob.last_hangup_cause == "PICKED_OFF"


def test_a_pickup_whose_bridge_is_slow_is_still_one_pickup(site):
    import gevent
    alice, bob, dave = _phones(site, "1001", "1002", "1004")
    real = site.switch.apps.soft_bridge

    def slow(ch, peer, role):            # a loaded switch: the bridge follows the intercept late
        if role == "a":
            gevent.sleep(1.5)
        return real(ch, peer, role)
    site.switch.apps.soft_bridge = slow
    _ring(site, dave, bob)
    alice.dial(GROUP)
    alice.wait_connected("1004")
    until(lambda: site.pickup.store.call_log(), message="no call_log row")
    assert [r["action"] for r in site.pickup.store.call_log()] == ["pickup"]
    assert alice.connected_to() == "1004"


def test_the_groups_blf_key_follows_a_run_time_member(site):
    dave, erin = _phones(site, "1004", "1005")
    until(lambda: site.rec.pickup_blf(GROUP)[-1:] == ["idle"], message="no initial BLF")
    site.pickup.store.assign("1005", GROUP)     # `pickup-group add *8001 1005`
    erin.ring_forever()
    dave.dial("1005")
    erin.wait_ringing()
    until(lambda: site.rec.pickup_blf(GROUP)[-1:] == ["ringing"], 10,
          message="the key does not blink for its new member's call")


def test_the_picker_never_picks_up_a_call_of_their_own(site):
    alice, bob = _phones(site, "1001", "1002")
    bob.ring_forever()
    alice.dial("1002")                 # Alice's desk phone calls Bob (a member)...
    bob.wait_ringing()
    site.switch.register("1001", "Alice")
    call = alice.dial(GROUP)           # ...and her other phone dials the group
    until(lambda: site.rec.played[call.uuid], message="no prompt")
    assert site.rec.played[call.uuid] == [site.config.pickup.prompt_nothing_ringing]
    assert bob.state == "ringing"


def test_many_pickers_for_a_few_calls_each_call_goes_to_exactly_one(make_site, base_config):
    """Six members dial the group at once while three calls ring a seventh: three pickers are
    connected (one call each), three hear the nothing-ringing prompt, nothing is half-bridged."""
    from fscontrol.config.model import PickupGroup
    members = [str(2001 + i) for i in range(7)]
    callers = [str(3001 + i) for i in range(3)]
    config = dataclasses.replace(
        base_config, users=base_config.users + tuple(User(u, f"User {u}") for u in members + callers),
        pickup_groups=(PickupGroup("*8001", tuple(members)),))
    site = make_site(config)
    phones = {u: site.switch.register(u, f"User {u}") for u in members + callers}
    ringing = phones[members[0]]
    ringing.ring_forever()
    for c in callers:
        phones[c].dial(members[0])
    until(lambda: len(site.esl.registry.ringing_for(members[0], "outbound")) == 3,
          message="the three calls never all rang")
    pickers = [phones[u] for u in members[1:]]
    calls = {p.user: p.dial(GROUP) for p in pickers}
    until(lambda: sum(1 for c in callers if phones[c].connected_to() in calls) == 3,
          message="not every call was picked up")
    winners = {phones[c].connected_to() for c in callers}
    assert len(winners) == 3                       # three different pickers, one call each
    for p in pickers:
        if p.user not in winners:
            p.wait_idle()
            assert site.rec.played[calls[p.user].uuid] == [site.config.pickup.prompt_nothing_ringing]
    assert [r["action"] for r in site.pickup.store.call_log()].count("pickup") == 3


def _before_intercept(site, step):
    """Run `step(target_uuid)` on the switch just before it carries out the controller's
    intercept: the race between the controller's decision and the switch acting on it."""
    real = site.switch.apps.table["intercept"]

    def intercept(ch, data):
        step(data.split()[-1])
        return real(ch, data)
    site.switch.apps.table["intercept"] = intercept


def test_a_caller_who_hangs_up_as_the_intercept_is_sent_leaves_the_picker_the_prompt_at_once(site):
    """Nothing half-bridged, and no dead air: the picker hears the nothing-ringing prompt as soon
    as the caller is gone (it waited 5 s in silence first, as if the pickup had happened)."""
    alice, bob, dave = _phones(site, "1001", "1002", "1004")
    _ring(site, dave, bob)

    def caller_gives_up(target):
        dave.hangup()
        until(lambda: site.switch.find(target) is None, message="the caller's leg stayed")
    _before_intercept(site, caller_gives_up)
    call = alice.dial(GROUP)
    until(lambda: site.rec.played[call.uuid], 2.5, message="the picker waited in silence")
    assert site.rec.played[call.uuid] == [site.config.pickup.prompt_nothing_ringing]
    for phone in (alice, bob, dave):
        phone.wait_idle()
    assert [r["action"] for r in site.pickup.store.call_log()] == ["pickup_empty"]


def test_a_member_who_answers_as_the_intercept_is_sent_keeps_the_call(site):
    """intercept_unbridged_only makes the switch refuse the intercept: the picker hears the
    nothing-ringing prompt, Dave talks to Bob."""
    alice, bob, dave = _phones(site, "1001", "1002", "1004")
    _ring(site, dave, bob)

    def member_answers(target):
        bob.answer()
        until(lambda: dave.connected_to() == "1002", message="Bob's answer never connected")
    _before_intercept(site, member_answers)
    call = alice.dial(GROUP)
    alice.wait_idle()
    assert site.rec.played[call.uuid] == [site.config.pickup.prompt_nothing_ringing]
    assert dave.connected_to() == "1002" and bob.connected_to() == "1004"
    assert [r["action"] for r in site.pickup.store.call_log()] == ["pickup_empty"]


def test_a_parked_call_is_not_pickable(make_site):
    """Alice parked by Bob (a member) waits in her orbit: nothing rings for the group, so
    Carol's pickup finds nothing and Alice stays parked (before any ring-back)."""
    site = make_site(timeout=60)
    alice, bob, carol = _phones(site, "1001", "1002", "1003")
    alice.dial("*70", variables={"referred_by_user": "1002"})
    orbit = site.orbit_of(alice)
    call = carol.dial(GROUP)
    carol.wait_idle()
    assert site.rec.played[call.uuid] == [site.config.pickup.prompt_nothing_ringing]
    assert site.service.store.by_orbit(orbit) is not None
    assert alice.hearing() == "music" and bob.state == "idle"


def test_the_groups_blf_key_is_sent_again_after_a_reconnect(site):
    """A switch restarted or a socket lost forgets the presence it was given: after the
    controller reconnects, each group's key is sent again with what rings now."""
    bob, dave = _phones(site, "1002", "1004")
    until(lambda: site.rec.pickup_blf(GROUP)[-1:] == ["idle"], message="no initial BLF")
    _ring(site, dave, bob)
    until(lambda: site.rec.pickup[GROUP][-1:] == ["ringing"], message="BLF not ringing")
    sent = len(site.rec.pickup[GROUP])
    site.switch.drop_connections()
    until(lambda: len(site.rec.pickup[GROUP]) > sent, 10, message="the key was not sent again")
    assert site.rec.pickup[GROUP][sent:] == ["ringing"]
    dave.hangup()
    until(lambda: site.rec.pickup[GROUP][-1:] == ["idle"], message="BLF not idle again")
