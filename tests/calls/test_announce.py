"""Park and pickup tell the live events what they did (call_parked, call_retrieved,
call_picked_up, to everybody concerned) and count it in the Prometheus metrics."""

from fscontrol.metrics import REGISTRY
from waiting import until


def _count(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_park_and_its_retrieve_are_announced_to_the_parker_caller_and_retriever(
        make_site, published):
    site = make_site()
    seen = published(site)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    carol = site.switch.register("1003", "Carol")
    parks, retrieves = _count("fscontrol_parks_total"), _count("fscontrol_retrieves_total")
    bob.ring_forever()
    alice.dial("1002")
    bob.answer()
    alice.wait_connected("1002")
    bob.blind_transfer("*70")            # Bob parks Alice
    orbit = site.orbit_of(alice)
    parked = until(lambda: seen.last("1002", "call_parked"), 5, message="Bob was not told")
    assert (parked["orbit"], parked["parker"], parked["id"], parked["user"]) == (
        orbit, "1002", alice.channel.uuid, "1001")
    assert seen.last("1001", "call_parked") == parked          # Alice sees her call parked
    assert site.calls.get(alice.channel.uuid)["orbit"] == orbit
    assert _count("fscontrol_parks_total") == parks + 1
    carol.dial(orbit)
    alice.wait_connected("1003")
    got = until(lambda: seen.last("1003", "call_retrieved"), 5, message="Carol was not told")
    assert (got["orbit"], got["retriever"], got["parker"], got["id"]) == (
        orbit, "1003", "1002", alice.channel.uuid)
    assert seen.last("1002", "call_retrieved") == got and seen.last("1001", "call_retrieved") == got
    assert _count("fscontrol_retrieves_total") == retrieves + 1
    mine = until(lambda: site.calls.get(alice.channel.uuid)["peer"]["number"] == "1003"
                 and site.calls.get(alice.channel.uuid), 5, message="Alice's peer is not Carol")
    assert mine["orbit"] is None and mine["state"] == "talking"


def test_a_park_timeout_is_counted(make_site):
    site = make_site(timeout=1, fallback="")
    alice = site.switch.register("1001", "Alice")
    timeouts = _count("fscontrol_park_timeouts_total")
    alice.dial("*70")
    site.orbit_of(alice)
    until(lambda: _count("fscontrol_park_timeouts_total") == timeouts + 1, 10,
          message="the timeout was not counted")
    alice.wait_idle(15)


def test_a_group_pickup_is_announced_to_the_picker_and_the_member_and_counted(
        make_site, published):
    site = make_site()
    seen = published(site)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    carol = site.switch.register("1003", "Carol")
    group = _count("fscontrol_pickups_total", kind="group")
    directed = _count("fscontrol_pickups_total", kind="directed")
    bob.ring_forever()
    call = alice.dial("1002")
    bob.wait_ringing()
    carol.dial("*8001")
    carol.wait_connected("1001")
    event = until(lambda: seen.last("1003", "call_picked_up"), 5, message="Carol was not told")
    assert (event["picker"], event["callee"], event["group"], event["id"]) == (
        "1003", "1002", "*8001", call.uuid)
    assert seen.last("1002", "call_picked_up") == event      # Bob: who took his call
    assert seen.last("1001", "call_picked_up") == event      # Alice: her call was answered
    assert _count("fscontrol_pickups_total", kind="group") == group + 1
    assert _count("fscontrol_pickups_total", kind="directed") == directed
    until(lambda: seen.last("1002", "call_ended"), 5, message="Bob's leg did not end")
    assert seen.last("1002", "call_ended")["reason"] == "PICKED_OFF"


def test_a_directed_pickup_is_counted_as_directed(make_site, published):
    site = make_site()
    seen = published(site)
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    carol = site.switch.register("1003", "Carol")
    directed = _count("fscontrol_pickups_total", kind="directed")
    bob.ring_forever()
    alice.dial("1002")
    bob.wait_ringing()
    carol.dial("**1002")
    carol.wait_connected("1001")
    event = until(lambda: seen.last("1003", "call_picked_up"), 5, message="Carol was not told")
    assert (event["callee"], event["group"]) == ("1002", None)
    assert _count("fscontrol_pickups_total", kind="directed") == directed + 1


def test_a_database_error_is_counted_for_its_feature(make_site):
    from park.conftest import database_down
    site = make_site(fallback="")
    alice = site.switch.register("1001", "Alice")
    errors = _count("fscontrol_database_errors_total", feature="park")
    with database_down(site):
        alice.dial("*70")
        alice.wait_idle(10)
    assert _count("fscontrol_database_errors_total", feature="park") > errors
