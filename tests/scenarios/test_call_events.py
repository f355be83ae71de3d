"""Live call events scenarios, written once and run on the simulated and the real switch with the
controller `fscontrol run` builds: what each user's event stream says about a call between two
users (their own leg each), its hold, its park and its end. The phones of the harness are
loopback pairs (tests/live/fscontrol.toml: `user_dial_string = "loopback/{ext}/phones"`); the
tracker follows the leg the switch runs for each phone, never the handset."""

from waiting import until


class Stream:
    """What the controller's event bus published, as an admin's stream sees it."""

    def __init__(self, ctl):
        self.sub, _ = ctl.controller.bus.subscribe(None)
        self.events = []

    def of(self, user):
        while (event := self.sub.get(timeout=0)) is not None:
            self.events.append(event)
        return [(e.kind, e.call) for e in self.events if user in e.users]

    def kinds(self, user):
        return [kind for kind, _ in self.of(user)]


def _tracker(ctl):
    return ctl.controller.feature("calls").tracker


def test_a_call_between_two_users_is_told_to_each_on_their_own_leg(backend, pickup_controller):
    ctl = pickup_controller()
    stream = Stream(ctl)
    alice, bob = backend.phones("1001", "1002")
    bob.ring_forever()
    alice.dial("1002")
    bob.wait_ringing(10)
    until(lambda: "call_ringing" in stream.kinds("1002"), 10, message="Bob's stream: no ringing")
    bob.answer()
    alice.wait_connected(to="1002")
    until(lambda: "call_answered" in stream.kinds("1001") and "call_answered" in stream.kinds("1002"),
          10, message="not answered on both streams")
    calls = {c["user"]: c for c in _tracker(ctl).snapshot(None)}
    assert sorted(calls) == ["1001", "1002"], calls
    assert (calls["1001"]["direction"], calls["1001"]["peer"]["number"]) == ("outbound", "1002")
    assert (calls["1002"]["direction"], calls["1002"]["peer"]["number"]) == ("inbound", "1001")
    assert calls["1001"]["peer_id"] == calls["1002"]["id"]
    alice.hangup()
    bob.wait_idle(10)
    until(lambda: stream.kinds("1002")[-1:] == ["call_ended"] and
          stream.kinds("1001")[-1:] == ["call_ended"], 10, message="not ended on both streams")
    for user in ("1001", "1002"):
        kinds = stream.kinds(user)
        assert kinds[0] == "call_created" and kinds.count("call_created") == 1, (user, kinds)
        assert kinds.index("call_ringing") < kinds.index("call_answered") < kinds.index("call_ended")
        assert stream.of(user)[-1][1]["reason"] == "NORMAL_CLEARING"
    assert _tracker(ctl).snapshot(None) == []


def test_uuid_hold_shows_the_call_held_to_both_users(backend, pickup_controller):
    """uuid_hold fires CHANNEL_HOLD on the leg it names (trace s12, switch_ivr_hold)."""
    ctl = pickup_controller()
    stream = Stream(ctl)
    alice, bob = backend.phones("1001", "1002")
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected(to="1002")
    mine = until(lambda: _tracker(ctl).snapshot("1001"), 10, message="no call of Alice")[0]
    until(lambda: _tracker(ctl).get(mine["id"])["state"] == "talking", 10, message="not talking")
    backend.api(f"uuid_hold {mine['id']}")
    until(lambda: ("call_updated", "held") in [(k, c["state"]) for k, c in stream.of("1002")], 10,
          message="Bob's stream never said held")
    assert _tracker(ctl).get(mine["id"])["state"] == "held"
    alice.hangup()
    bob.wait_idle(10)


def test_a_parked_call_is_told_to_its_parker_and_its_retriever(backend, pickup_controller):
    ctl = pickup_controller()
    stream = Stream(ctl)
    alice, carol = backend.phones("1001", "1003")
    alice.dial(ctl.config.park.code)
    orbit = ctl.orbit_of("1001")
    alice.wait_hearing("music")
    parked = until(lambda: [c for k, c in stream.of("1001") if k == "call_parked"], 10,
                   message="Alice's stream: not parked")[0]
    assert parked["orbit"] == orbit and parked["user"] == "1001"
    carol.dial(orbit)
    carol.wait_connected(to="1001")
    got = until(lambda: [c for k, c in stream.of("1003") if k == "call_retrieved"], 10,
                message="Carol's stream: nothing retrieved")[0]
    assert (got["orbit"], got["retriever"], got["id"]) == (orbit, "1003", parked["id"])
    carol.hangup()
    alice.wait_idle(10)
