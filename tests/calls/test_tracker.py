"""The calls of users' phones as the event stream tells them: each user sees their own leg,
created, ringing, answered, held and ended, in order; a transfer changes the peer; a dropped
event socket loses nothing and repeats nothing."""

from fscontrol.esl.commands import dial_string
from waiting import until


def _talking(site, caller, callee, number):
    callee.ring_forever()
    caller.dial(number)
    callee.wait_ringing(5)
    callee.answer()
    caller.wait_connected(number)


def test_a_call_between_two_users_gives_each_their_own_leg_in_order(make_site, published):
    site = make_site()
    seen = published(site)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    _talking(site, alice, bob, "1002")
    until(lambda: [c["state"] for c in site.calls.snapshot(None)] == ["talking", "talking"], 5,
          message="the two legs never talking")
    [a] = site.calls.snapshot("1001")
    [b] = site.calls.snapshot("1002")
    assert (a["direction"], a["peer"], a["state"]) == ("outbound", {"number": "1002", "name": "Bob"},
                                                      "talking")
    assert (b["direction"], b["peer"], b["state"]) == ("inbound", {"number": "1001", "name": "Alice"},
                                                      "talking")
    assert a["id"] == alice.channel.uuid and b["id"] == bob.channel.uuid
    assert a["peer_id"] == b["id"] and b["peer_id"] == a["id"]
    assert a["answered_at"] and a["started_at"] <= a["answered_at"]
    assert site.calls.user_of(b["id"]) == "1002" and site.calls.get(a["id"])["user"] == "1001"
    assert len(site.calls.snapshot(None)) == 2
    alice.hangup()
    until(lambda: seen.kinds("1002")[-1:] == ["call_ended"], 5, message="Bob's call never ended")
    until(lambda: seen.kinds("1001")[-1:] == ["call_ended"], 5, message="Alice's call never ended")
    assert seen.of("1001") == [("call_created", "ringing"), ("call_ringing", "ringing"),
                               ("call_answered", "talking"), ("call_ended", "ended")]
    assert seen.of("1002") == [("call_created", "ringing"), ("call_ringing", "ringing"),
                               ("call_answered", "talking"), ("call_ended", "ended")]
    assert seen.last("1001", "call_ended")["reason"] == "NORMAL_CLEARING"
    assert site.calls.snapshot(None) == []
    assert site.calls.get(a["id"])["state"] == "ended"     # still answerable a while after


def test_a_user_sees_only_their_own_calls(make_site):
    site = make_site()
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    carol = site.switch.register("1003", "Carol")
    _talking(site, alice, bob, "1002")
    until(lambda: len(site.calls.snapshot(None)) == 2, 5, message="two legs")
    assert site.calls.snapshot("1003") == []
    assert [c["user"] for c in site.calls.snapshot("1001")] == ["1001"]
    assert carol.state == "idle"


def test_an_unanswered_call_ends_with_its_cause_for_both(make_site, published):
    site = make_site()
    seen = published(site)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.ring_forever()
    alice.dial("1002")
    bob.wait_ringing(5)
    until(lambda: "call_ringing" in seen.kinds("1001"), 5, message="Alice's leg never rang")
    alice.hangup()
    until(lambda: seen.kinds("1002")[-1:] == ["call_ended"], 5, message="Bob's leg never ended")
    until(lambda: seen.kinds("1001")[-1:] == ["call_ended"], 5, message="Alice's leg never ended")
    assert "call_answered" not in seen.kinds("1001") + seen.kinds("1002")
    assert seen.last("1001", "call_ended")["reason"] == "ORIGINATOR_CANCEL"
    assert seen.last("1002", "call_ended")["answered_at"] is None


def test_hold_and_resume_from_a_phone_show_held_then_talking_for_both(make_site, published):
    site = make_site()
    seen = published(site)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    _talking(site, alice, bob, "1002")
    until(lambda: "call_answered" in seen.kinds("1002"), 5, message="Bob never answered")
    bob.hold()
    until(lambda: ("call_updated", "held") in seen.of("1001"), 5, message="Alice not shown held")
    until(lambda: ("call_updated", "held") in seen.of("1002"), 5, message="Bob not shown held")
    assert [c["state"] for c in site.calls.snapshot(None)] == ["held", "held"]
    bob.unhold()
    until(lambda: seen.of("1001")[-1] == ("call_updated", "talking"), 5, message="Alice not resumed")
    until(lambda: seen.of("1002")[-1] == ("call_updated", "talking"), 5, message="Bob not resumed")
    # the phone's hold fires call state HELD and CHANNEL_HOLD: one update each way, not two
    assert [s for k, s in seen.of("1002") if k == "call_updated"] == ["held", "talking"]


def test_uuid_hold_holds_the_call_for_both_parties(make_site, published):
    site = make_site()
    seen = published(site)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    _talking(site, alice, bob, "1002")
    until(lambda: "call_answered" in seen.kinds("1001"), 5, message="Alice never answered")
    site.esl.api(f"uuid_hold {alice.channel.uuid}")
    until(lambda: ("call_updated", "held") in seen.of("1002"), 5, message="Bob not shown held")
    assert site.calls.get(alice.channel.uuid)["state"] == "held"
    site.esl.api(f"uuid_hold off {alice.channel.uuid}")
    until(lambda: seen.of("1002")[-1] == ("call_updated", "talking"), 5, message="Bob not resumed")


def test_a_blind_transfer_changes_the_peer_of_the_transferred_user(make_site, published):
    site = make_site()
    seen = published(site)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    carol = site.switch.register("1003", "Carol")
    _talking(site, alice, bob, "1002")
    until(lambda: "call_answered" in seen.kinds("1002"), 5, message="Bob never answered")
    carol.auto_answer()
    alice.blind_transfer("1003")
    bob.wait_connected("1003", timeout=5)
    until(lambda: seen.kinds("1001")[-1:] == ["call_ended"], 5, message="Alice's leg never ended")
    until(lambda: any(k == "call_updated" and e["peer"]["number"] == "1003"
                      for k, e in ((e.kind, e.call) for e in seen.drain() if "1002" in e.users)),
          5, message="Bob's peer never became Carol")
    [b] = site.calls.snapshot("1002")
    [c] = site.calls.snapshot("1003")
    assert b["peer"] == {"number": "1003", "name": "Carol"} and b["state"] == "talking"
    assert b["peer_id"] == c["id"] and c["peer_id"] == b["id"]
    assert c["direction"] == "inbound" and c["state"] == "talking"
    assert seen.kinds("1003")[:3] == ["call_created", "call_ringing", "call_answered"]


def test_a_reconnect_rebuilds_the_calls_without_repeating_any(make_site, published):
    site = make_site()
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    carol = site.switch.register("1003", "Carol")
    _talking(site, alice, bob, "1002")
    until(lambda: [c["state"] for c in site.calls.snapshot(None)] == ["talking", "talking"], 5,
          message="both legs talking")
    before = {c["id"] for c in site.calls.snapshot(None)}
    seen = published(site)
    rebuilds = site.calls.rebuilds
    site.switch.refuse_connections()
    site.switch.drop_connections()
    until(lambda: not site.esl.connected, 5, message="still connected")
    alice.hangup()              # Alice's and Bob's legs end while nobody listens
    bob.wait_idle(5)
    alice.ring_forever()
    carol.dial("1001")          # and a new call starts
    alice.wait_ringing(5)
    site.switch.refuse_connections(False)
    until(lambda: site.calls.rebuilds > rebuilds, 10, message="no rebuild after the reconnect")
    ended = [e.call for e in seen.drain() if e.kind == "call_ended"]
    assert sorted(c["user"] for c in ended) == ["1001", "1002"]
    assert {c["id"] for c in ended} == before
    assert seen.kinds("1002") == ["call_ended"]
    assert seen.kinds("1003") == ["call_created", "call_ringing"]
    assert seen.kinds("1001") == ["call_ended", "call_created", "call_ringing"]
    now = {c["user"]: c for c in site.calls.snapshot(None)}
    assert sorted(now) == ["1001", "1003"]
    assert now["1001"]["direction"] == "inbound" and now["1001"]["state"] == "ringing"
    assert now["1003"]["peer"] == {"number": "1001", "name": "Alice"}
    # a second blip changes nothing: no call is created or ended twice
    count = len(seen.drain())
    rebuilds = site.calls.rebuilds
    site.switch.drop_connections()
    until(lambda: site.calls.rebuilds > rebuilds, 10, message="no second rebuild")
    assert len(seen.drain()) == count
    alice.answer()
    until(lambda: seen.kinds("1003")[-1:] == ["call_answered"], 5, message="Carol's call not answered")
    assert seen.kinds("1003").count("call_created") == 1


def test_a_call_placed_for_a_user_rings_their_phone_as_their_own_outbound_call(make_site, published):
    """Call Via Work's shape (trace s12): the user's device is originated first with the global
    caller id and the variables naming the placement; once it answers it bridges the callee."""
    site = make_site()
    seen = published(site)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    alice.auto_answer()
    bob.ring_forever()
    leg = "5b0d6c1e-0000-4000-8000-000000000001"
    placement = {"fscontrol_via": "call_via_work", "fscontrol_cvw_user": "1001",
                 "fscontrol_cvw_call": leg}
    device = dial_string("user/1001@fscontrol.test", {
        "origination_uuid": leg, "origination_caller_id_name": "Call Via Work", **placement})
    callee = dial_string("user/1002@fscontrol.test", {
        "origination_caller_id_number": "1001", "origination_caller_id_name": "Alice", **placement})
    site.esl.bgapi(f"originate {device} &bridge({callee})")
    bob.wait_ringing(5)
    bob.answer()
    alice.wait_connected("1002")
    until(lambda: [c["state"] for c in site.calls.snapshot(None)] == ["talking", "talking"], 5,
          message="both legs talking")
    mine = site.calls.get(leg)
    assert (mine["user"], mine["direction"], mine["via"]) == ("1001", "outbound", "call_via_work")
    assert mine["peer"] == {"number": "1002", "name": "Bob"}
    [theirs] = site.calls.snapshot("1002")
    assert (theirs["direction"], theirs["peer"]["number"]) == ("inbound", "1001")
    assert seen.kinds("1001")[:3] == ["call_created", "call_ringing", "call_answered"]
    assert seen.kinds("1002")[:3] == ["call_created", "call_ringing", "call_answered"]


def test_after_a_reconnect_a_stranger_with_a_users_caller_id_is_still_not_that_users_call(
        make_site, published):
    """A call from a trunk saying caller id 1001 that started while the event socket was down:
    the controller knows it only from `show channels` (no variables there), so it asks the
    switch for the channel's dump before taking it for anybody's; Alice's own call that started
    meanwhile (the switch authenticated her) is hers."""
    from fscontrol.sim.channels import Channel
    from fscontrol.sim.endpoints import _inbound_announce
    site = make_site()
    switch = site.switch
    alice, bob = switch.register("1001", "Alice"), switch.register("1002", "Bob")
    carol = switch.register("1003", "Carol")
    bob.auto_answer()
    carol.ring_forever()
    seen = published(site)
    rebuilds = site.calls.rebuilds
    switch.refuse_connections()
    switch.drop_connections()
    until(lambda: not site.esl.connected, 5, message="still connected")
    trunk = Channel(switch, "sofia/external/+4930555", "inbound", kind="phone",
                    cid_name="Not Alice", cid_num="1001", dest="1002", context="public",
                    variables={}, source="mod_sofia")
    switch.track(trunk)
    _inbound_announce(trunk)
    trunk.start(("dialplan", "1002", switch.context))
    bob.wait_connected(timeout=5)
    alice.dial("1003")
    carol.wait_ringing(5)
    switch.refuse_connections(False)
    until(lambda: site.calls.rebuilds > rebuilds, 10, message="no rebuild after the reconnect")
    mine = site.calls.snapshot("1001")
    assert [(c["id"], c["direction"]) for c in mine] == [(alice.channel.uuid, "outbound")]
    assert site.calls.user_of(trunk.uuid) is None
    [bobs] = site.calls.snapshot("1002")
    assert bobs["peer"]["number"] == "1001" and bobs["direction"] == "inbound"
    assert seen.kinds("1001") == ["call_created", "call_ringing"]
