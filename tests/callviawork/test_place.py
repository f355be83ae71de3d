"""Call Via Work on the simulated switch, at the service: the callback device rings first with
the global caller ID, the destination only once it is answered and with the user's own caller
ID; every policy error is raised at once naming its field; every failure is a typed outcome the
user hears a prompt for; cancel while either side rings; a call_log row for each leg."""

import time

import pytest

from fscontrol import metrics
from fscontrol.callviawork import (CallbackNotAllowed, CallIdInUse, CallNotFound,
                                   CallViaWorkDisabled, DestinationNotAllowed, DeviceUnregistered,
                                   InvalidCallId, InvalidNumber, RateLimited, SwitchUnavailable,
                                   UnknownUser)
from waiting import until

DIRECT = "user/{number}@{domain}"   # the destination's phone itself, not its voicemail fallback


def _failed(reason):
    return metrics.REGISTRY.get_sample_value("fscontrol_calls_failed_total", {"reason": reason}) or 0


def _placed():
    return metrics.REGISTRY.get_sample_value("fscontrol_calls_placed_total") or 0


def test_device_rings_first_with_the_global_caller_id_then_the_destination_with_the_users(make_site):
    site = make_site(caller_id_number="+15550100")
    alice, bob = site.phone("1001"), site.phone("1002")
    bob.auto_answer()
    placed = _placed()
    p = site.service.place("1001", "1002")
    assert p.to_dict()["state"] == "ringing_user" and p.user_leg == p.id
    alice.wait_ringing()
    assert (alice.channel.cid_name, alice.channel.cid_num) == ("Call Via Work", "+15550100")
    assert alice.channel.uuid == p.id
    assert bob.state == "idle"           # nobody else is called before the user answers
    assert _placed() == placed + 1

    alice.answer()
    site.wait_state(p, "connected")
    alice.wait_connected(to="1002")
    bob.wait_connected(to="1001")
    assert (bob.channel.cid_name, bob.channel.cid_num) == ("Alice", "1001")
    assert p.destination_leg and p.to_dict()["destination_leg"] == p.destination_leg

    bob.hangup()
    site.wait_state(p, "ended")
    alice.wait_idle()
    assert p.outcome == "completed"
    wanted = {"user_leg", "destination_leg", "connected", "ended"}
    rows = until(lambda: (lambda rows: rows if wanted <= {r["action"] for r in rows} else None)(
        site.history("1001")), message="call_log rows of the call")
    legs = {r["channel_uuid"] for r in rows}
    assert {p.id, p.destination_leg} <= legs
    assert all(r["details"]["call_id"] == p.id for r in rows)
    assert {r["id"] for r in rows} <= {r["id"] for r in site.history("1002")}  # Bob's too
    assert site.history("1003") == []


def test_client_chosen_call_id_is_the_users_leg(make_site):
    site = make_site()
    alice = site.phone("1001")
    p = site.service.place("1001", "1002", call_id="cvw-test-0001")
    alice.wait_ringing()
    assert p.id == alice.channel.uuid == "cvw-test-0001"
    assert site.service.get("cvw-test-0001") is p
    with pytest.raises(CallIdInUse) as e:
        site.service.place("1001", "1003", call_id="cvw-test-0001")
    assert e.value.field == "call_id" and e.value.kind == "conflict"
    with pytest.raises(InvalidCallId):
        site.service.place("1001", "1003", call_id="bad id")


def test_unregistered_device_is_an_error_at_once(make_site):
    site = make_site()
    site.switch.add_user("1001")          # in the directory, not registered
    before = _failed("device_unregistered")
    t = time.monotonic()
    with pytest.raises(DeviceUnregistered) as e:
        site.service.place("1001", "1002")
    assert time.monotonic() - t < 2
    assert e.value.id == "device_unregistered" and e.value.kind == "conflict"
    assert e.value.to_dict()["cause"] == "USER_NOT_REGISTERED"
    assert _failed("device_unregistered") == before + 1
    p = site.service.get(e.value.details["call_id"])
    assert (p.state.value, p.outcome) == ("failed", "device_unregistered")


def test_policy_errors_name_their_field(make_site):
    site = make_site(rate_limit=2)
    site.phone("1001")
    with pytest.raises(UnknownUser) as e:
        site.service.place("1999", "1002")
    assert (e.value.field, e.value.kind) == ("user", "not_found")
    with pytest.raises(InvalidNumber) as e:
        site.service.place("1001", "10 02")
    assert e.value.field == "destination"
    with pytest.raises(DestinationNotAllowed) as e:
        site.service.place("1001", "*70")
    assert (e.value.id, e.value.field, e.value.kind) == ("destination_not_allowed",
                                                         "destination", "forbidden")
    with pytest.raises(CallbackNotAllowed) as e:
        site.service.place("1001", "1002", callback="1003")
    assert e.value.field == "callback"
    site.service.place("1001", "1002")
    site.service.place("1001", "1003")
    with pytest.raises(RateLimited) as e:
        site.service.place("1001", "1002")
    assert e.value.kind == "rate_limited" and e.value.details["retry_after"] >= 1
    with pytest.raises(CallNotFound):
        site.service.cancel("no-such-call")


def test_disabled(make_site):
    site = make_site(enabled=False)
    with pytest.raises(CallViaWorkDisabled) as e:
        site.service.place("1001", "1002")
    assert e.value.kind == "forbidden"


def test_user_chosen_callback_when_the_policy_allows(make_site):
    site = make_site(user_callback=True, destination_dial_string=DIRECT)
    alice = site.phone("1001")
    mobile = site.switch.register("+4915112345678")   # a number the destinations allow
    p = site.service.place("1001", "1002", callback="+4915112345678")
    mobile.wait_ringing()
    assert alice.state == "idle" and p.device == "+4915112345678"
    assert mobile.channel.cid_name == "Call Via Work"


def test_a_user_chosen_callback_is_never_another_users_phone(make_site):
    """Else Carol's phone rings directly (past her forwarding), showing the Call Via Work caller
    ID that tells her it is her own call, and answering connects her to Alice's destination as
    Alice, on a leg Carol's own API and events never show."""
    site = make_site(user_callback=True)
    carol = site.phone("1003")
    with pytest.raises(CallbackNotAllowed) as e:
        site.service.place("1001", "1002", callback="1003")
    assert e.value.field == "callback" and "another user's phone" in str(e.value)
    assert carol.state == "idle"
    assert site.service.placements == {}
    site.phone("1001").ring_forever()
    p = site.service.place("1001", "1002", callback="1001")   # one's own extension is fine
    assert p.device == "1001"


def test_admin_callback_device_rings_instead_of_the_users_phone(make_site, base_config):
    import dataclasses
    users = tuple(dataclasses.replace(u, callback="1003") if u.extension == "1001" else u
                  for u in base_config.users)
    site = make_site(dataclasses.replace(base_config, users=users))
    alice, carol, bob = site.phone("1001"), site.phone("1003"), site.phone("1002")
    bob.auto_answer()
    p = site.service.place("1001", "1002")
    carol.wait_ringing()
    assert alice.state == "idle"
    carol.answer()
    bob.wait_connected(to="1003")
    assert (bob.channel.cid_name, bob.channel.cid_num) == ("Alice", "1001")  # still Alice's call
    site.wait_state(p, "connected")


@pytest.mark.parametrize("behave, outcome", [
    ("reject_busy", "user_busy"), ("ring_forever", "user_no_answer"), ("reject", "user_rejected")])
def test_user_device_outcomes(make_site, behave, outcome):
    site = make_site(user_timeout=1)
    alice, bob = site.phone("1001"), site.phone("1002")
    before = _failed(outcome)
    if behave == "reject_busy":
        alice.reject_busy()
    p = site.service.place("1001", "1002")
    if behave == "reject":
        alice.wait_ringing()
        alice.hangup()
    site.wait_state(p, "failed", 5)
    assert p.outcome == outcome
    assert bob.state == "idle" and bob.calls == []
    assert _failed(outcome) == before + 1
    until(lambda: "failed" in [r["action"] for r in site.history("1001")],
          message="no call_log row for the failure")


@pytest.mark.parametrize("setup, outcome, prompt", [
    ("busy", "destination_busy", "prompt_busy"),
    ("no_answer", "destination_no_answer", "prompt_no_answer"),
    ("unregistered", "destination_failed", "prompt_failed")])
def test_destination_outcomes_play_the_prompt_then_hang_up(make_site, setup, outcome, prompt):
    site = make_site(destination_dial_string=DIRECT, destination_timeout=1)
    alice = site.phone("1001")
    alice.auto_answer()
    if setup == "unregistered":
        site.switch.add_user("1002")
    else:
        bob = site.phone("1002")
        bob.reject_busy() if setup == "busy" else bob.ring_forever()
    p = site.service.place("1001", "1002")
    site.wait_state(p, "failed", 8)
    assert p.outcome == outcome
    alice.wait_idle(10)
    assert getattr(site.config.call_via_work, prompt) in site.played.by_channel[p.id]
    assert alice.last_hangup_cause == "NORMAL_CLEARING"


def test_destination_with_no_route_fails(make_site):
    site = make_site()
    alice = site.phone("1001")
    alice.auto_answer()
    p = site.service.place("1001", "5555")   # allowed, but the dialplan has no route
    site.wait_state(p, "failed", 8)
    assert (p.outcome, p.cause) == ("destination_failed", "NO_ROUTE_DESTINATION")
    alice.wait_idle(10)


def test_cancel_while_the_device_rings(make_site):
    site = make_site()
    alice, bob = site.phone("1001"), site.phone("1002")
    p = site.service.place("1001", "1002")
    alice.wait_ringing()
    assert site.service.cancel(p.id) is p
    assert p.state.value == "cancelled" and p.outcome == "cancelled"
    alice.wait_idle()
    assert alice.last_hangup_cause == "ORIGINATOR_CANCEL"
    assert bob.calls == []
    assert site.service.cancel(p.id).state.value == "cancelled"   # again: nothing changes


def test_cancel_while_the_destination_rings(make_site):
    site = make_site(destination_dial_string=DIRECT)
    alice, bob = site.phone("1001"), site.phone("1002")
    alice.auto_answer()
    p = site.service.place("1001", "1002")
    bob.wait_ringing()
    site.wait_state(p, "calling_destination")
    site.service.cancel(p.id)
    bob.wait_idle()
    alice.wait_idle()
    assert p.state.value == "cancelled"
    until(lambda: "cancelled" in [r["action"] for r in site.history("1001")])


def test_user_hangs_up_while_the_destination_rings(make_site):
    site = make_site(destination_dial_string=DIRECT)
    alice, bob = site.phone("1001"), site.phone("1002")
    alice.auto_answer()
    p = site.service.place("1001", "1002")
    bob.wait_ringing()
    alice.hangup()
    site.wait_state(p, "failed")
    assert p.outcome == "user_hung_up"
    bob.wait_idle()


def test_event_socket_lost_while_the_device_rings(make_site):
    """Nobody can follow the call any more: it fails (switch_unavailable) and, once the switch
    is back, the ringing device is hung up rather than answered into silence."""
    site = make_site()
    alice = site.phone("1001")
    p = site.service.place("1001", "1002")
    alice.wait_ringing()
    site.switch.drop_connections()
    site.wait_state(p, "failed")
    assert p.outcome == "switch_unavailable"
    alice.wait_idle(10)


def test_a_connected_call_that_ended_while_the_event_socket_was_away_ends(make_site):
    """Its hang-up was never seen: at the reconnect the switch has no user leg any more, so the
    placement ends (else it stays connected, and in memory, for ever)."""
    site = make_site(destination_dial_string=DIRECT)
    alice, bob = site.phone("1001"), site.phone("1002")
    alice.auto_answer()
    bob.auto_answer()
    p = site.service.place("1001", "1002")
    site.wait_state(p, "connected")
    site.switch.refuse_connections()
    site.switch.drop_connections()
    until(lambda: not site.controller.esl.connected, 5, message="the socket never went")
    bob.hangup()
    alice.wait_idle()
    site.switch.refuse_connections(False)
    assert site.controller.esl.wait_connected(10)
    site.wait_state(p, "ended")
    assert p.outcome == "completed"
    until(lambda: any(r["action"] == "ended" for r in site.history("1001")),
          message="no call_log row for the end")


def test_a_switch_slow_to_say_its_domain_fails_one_call_not_every_later_one(make_site):
    """switch.domain is $${domain}, asked from the switch at the first call: when that answer
    is late the call fails (switch_unavailable, nothing sent) and the next call asks again."""
    site = make_site()
    assert "${" in site.config.switch.domain
    alice = site.phone("1001")
    alice.ring_forever()
    site.switch.delay_replies(6)       # past the client's 5 s command timeout
    with pytest.raises(SwitchUnavailable):
        site.service.place("1001", "1002")
    site.switch.delay_replies(0)
    assert site.controller.esl.wait_connected(15)
    p = site.service.place("1001", "1002")
    alice.wait_ringing()
    assert p.state.value == "ringing_user"


def test_an_originate_whose_reply_came_too_late_leaves_no_phone_ringing(make_site):
    """The caller was told switch_unavailable ("the switch did not take the call"); the switch
    ran the originate all the same: the phone that rings is hung up, not left to be answered
    into a parked silence nobody ever connects."""
    site = make_site(destination_dial_string=DIRECT)
    alice = site.phone("1001")
    site.service.resolve_domain()
    site.switch.delay_replies(6)       # past the client's 5 s command timeout
    with pytest.raises(SwitchUnavailable):
        site.service.place("1001", "1002")
    site.switch.delay_replies(0)
    alice.wait_ringing(10)
    alice.wait_idle(5)


def test_calls_go_on_while_the_database_is_down(make_site):
    """call_log rows are a record, not the call's state: with the database gone the call is
    placed and connected all the same, and each lost row is counted."""
    from fscontrol.db import Database
    site = make_site()
    store = site.service.store
    store._drop_connection()
    store.database = Database("postgresql://127.0.0.1:9/nowhere", connect_timeout=1)
    errors = metrics.REGISTRY.get_sample_value("fscontrol_database_errors_total",
                                               {"feature": "call_via_work"}) or 0
    alice, bob = site.phone("1001"), site.phone("1002")
    alice.auto_answer()
    bob.auto_answer()
    p = site.service.place("1001", "1002")
    site.wait_state(p, "connected")
    bob.wait_connected(to="1001")
    until(lambda: (metrics.REGISTRY.get_sample_value("fscontrol_database_errors_total",
                                                     {"feature": "call_via_work"}) or 0) > errors,
          10, message="no database error counted")


def test_listeners_see_every_state_in_order(make_site):
    """CallViaWorkFeature.listeners (the HTTP API's hook) get the placement when it is created
    and after each change, even when added after the feature was attached."""
    site = make_site()
    seen = []
    site.feature.listeners.append(lambda p: seen.append(p.state.value))
    alice, bob = site.phone("1001"), site.phone("1002")
    alice.auto_answer()
    bob.auto_answer()
    p = site.service.place("1001", "1002")
    site.wait_state(p, "connected")
    bob.hangup()
    site.wait_state(p, "ended")
    assert seen == ["ringing_user", "calling_destination", "connected", "ended"]


def test_the_call_tracker_shows_it_as_the_users_own_call(make_site):
    """The live calls (fscontrol.calls) see the user's leg as their outbound call to the
    destination, placed via call_via_work, from its first ring (before any bridge)."""
    site = make_site()
    alice = site.phone("1001")
    site.phone("1002")
    p = site.service.place("1001", "1002")
    alice.wait_ringing()
    tracker = site.controller.feature("calls").tracker
    call = until(lambda: tracker.get(p.id), message="the tracker never saw the user's leg")
    assert (call["user"], call["direction"], call["via"]) == ("1001", "outbound", "call_via_work")
    assert call["peer"]["number"] == "1002"
    assert tracker.user_of(p.id) == "1001"
