"""Calls, parked calls, pickup groups, conferences and history through HTTP: what a client sees,
errors naming the field, every error in the one shape."""

import pytest

from park.conftest import until


def test_place_a_call_then_see_and_cancel_it(api_site):
    api_site.require("calls", "callviawork")
    alice = api_site.phone("1001")
    alice.ring_forever()
    r = api_site.alice.post("/api/v1/calls", json={"destination": "1002"})
    assert r.status_code == 202, r.text
    placed = r.json()
    assert placed["user"] == "1001" and placed["destination"] == "1002"
    assert placed["state"] == "ringing_user"
    assert r.headers["Location"] == f"/api/v1/calls/{placed['id']}"
    alice.wait_ringing()
    until(lambda: [c["id"] for c in api_site.alice.get("/api/v1/calls").json()["calls"]]
          == [placed["id"]], 5, message="the placed call is not among Alice's calls")
    one = api_site.alice.get(f"/api/v1/calls/{placed['id']}").json()
    assert one["state"] == "ringing" and one["via"] == "call_via_work"
    assert one["placement"]["state"] == "ringing_user"
    r = api_site.alice.delete(f"/api/v1/calls/{placed['id']}")
    assert r.status_code == 200 and r.json() == {"id": placed["id"], "done": "cancelled"}
    alice.wait_idle()
    until(lambda: api_site.alice.get("/api/v1/calls").json()["calls"] == [], 5,
          message="the cancelled call is still listed")
    # the placement is still there to read: cancelled
    one = api_site.alice.get(f"/api/v1/calls/{placed['id']}").json()
    assert one["state"] == "ended" and one["placement"]["state"] == "cancelled"


def test_client_chosen_id_is_the_calls_id_and_cannot_be_reused(api_site):
    api_site.require("calls", "callviawork")
    api_site.phone("1001").ring_forever()
    call_id = "6f1d2c3b-aaaa-4bbb-8ccc-123456789abc"
    r = api_site.alice.post("/api/v1/calls", json={"destination": "1002", "id": call_id})
    assert r.status_code == 202 and r.json()["id"] == call_id
    r = api_site.alice.post("/api/v1/calls", json={"destination": "1002", "id": call_id})
    assert r.status_code == 409 and r.json()["error"] == "call_id_in_use"
    assert r.json()["field"] == "id"


def test_validation_errors_name_the_field(api_site):
    cases = [
        ({}, "destination"),
        ({"destination": ""}, "destination"),
        ({"destination": "1002", "colour": "red"}, "colour"),
        ({"destination": "1002", "id": "has space"}, "id"),
        ({"destination": "1002", "user": "alice"}, "user"),
        ({"destination": 1002}, "destination"),
    ]
    for body, field in cases:
        r = api_site.alice.post("/api/v1/calls", json=body)
        assert r.status_code == 422, (body, r.text)
        out = r.json()
        assert out["error"] == "invalid_field" and out["field"] == field, (body, out)
        assert out["message"].startswith(field + ":")
    r = api_site.alice.post(f"/api/v1/calls/{'x' * 200}/hold")
    assert r.status_code == 422 and r.json()["field"] == "call_id"
    r = api_site.alice.get("/api/v1/history", params={"limit": "0"})
    assert r.status_code == 422 and r.json()["field"] == "limit"


def test_a_body_that_is_no_json_object_is_one_error(api_site):
    for data, headers in (("not json", {"Content-Type": "application/json"}),
                          ("[1, 2]", {"Content-Type": "application/json"}),
                          ("destination=1002", {"Content-Type": "application/x-www-form-urlencoded"})):
        r = api_site.alice.post("/api/v1/calls", data=data, headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid_field"
    # nested deeper than Python's parser can go (within the 64 KiB body limit): no 500
    for data in ("[" * 30000 + "]" * 30000,
                 '{"destination": ' + "[" * 30000 + "]" * 30000 + "}"):
        r = api_site.alice.post("/api/v1/calls", data=data,
                                headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and r.json()["error"] == "invalid_field", r.text


def test_service_errors_keep_their_code_field_and_status(api_site):
    api_site.require("callviawork")
    r = api_site.alice.post("/api/v1/calls", json={"destination": "*70"})
    assert r.status_code == 403 and r.json()["field"] == "destination"   # the policy says no
    assert r.json()["error"] == "destination_not_allowed", r.json()
    r = api_site.alice.post("/api/v1/calls", json={"destination": "1002"})   # not registered
    assert r.status_code == 409 and r.json()["error"] == "device_unregistered", r.json()


def test_unknown_routes_and_methods_answer_in_the_error_shape(api_site):
    r = api_site.alice.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = api_site.alice.put("/api/v1/calls")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"
    assert "POST" in r.headers["Allow"]
    r = api_site.anonymous.get("/favicon.ico")
    assert r.status_code in (401, 404) and "error" in r.json()


def test_a_bug_is_a_500_without_a_traceback(api_site, monkeypatch):
    api_site.require("calls")
    def broken(user=None):
        raise ZeroDivisionError("secret internals")
    monkeypatch.setattr(api_site.tracker, "snapshot", broken)
    r = api_site.alice.get("/api/v1/calls")
    assert r.status_code == 500
    assert r.json() == {"error": "internal",
                        "message": "internal error (the controller's log has the details)"}


def test_hold_resume_transfer(api_site):
    api_site.require("calls", "callviawork")
    alice, bob, cid = api_site.talking("1001", "1002")
    assert api_site.alice.post(f"/api/v1/calls/{cid}/hold").json() == {"id": cid, "done": "held"}
    until(lambda: api_site.alice.get(f"/api/v1/calls/{cid}").json()["state"] == "held", 5,
          message="never held")
    assert api_site.alice.post(f"/api/v1/calls/{cid}/resume").json()["done"] == "resumed"
    until(lambda: api_site.alice.get(f"/api/v1/calls/{cid}").json()["state"] == "talking", 5,
          message="never resumed")
    r = api_site.alice.post(f"/api/v1/calls/{cid}/transfer", json={})
    assert r.status_code == 422 and r.json()["field"] == "target"
    r = api_site.alice.post(f"/api/v1/calls/{cid}/transfer", json={"target": "*70"})
    assert r.status_code == 403 and r.json()["field"] == "target", r.json()
    carol = api_site.phone("1003")
    carol.auto_answer()
    r = api_site.alice.post(f"/api/v1/calls/{cid}/transfer", json={"target": "1003"})
    assert r.json() == {"id": cid, "done": "transferred"}
    bob.wait_connected(to="1003", timeout=10)
    alice.wait_idle()


def test_hang_up_then_park_a_call_by_either_route(api_site):
    api_site.require("calls", "callviawork")
    alice, bob, cid = api_site.talking("1001", "1002")
    r = api_site.alice.delete(f"/api/v1/calls/{cid}")
    assert r.json() == {"id": cid, "done": "hung_up"}
    alice.wait_idle()
    bob.wait_idle()
    r = api_site.alice.post(f"/api/v1/calls/{cid}/hold")
    assert r.status_code in (403, 404), r.text      # ended: gone, or no longer Alice's to act on
    alice, bob, cid = api_site.talking("1001", "1002")
    r = api_site.alice.post(f"/api/v1/calls/{cid}/park")
    assert r.status_code == 200, r.text
    orbit = r.json()["orbit"]
    bob.wait_hearing("music")
    alice.wait_idle()
    parked = api_site.alice.get("/api/v1/parked").json()["parked"]
    assert [(p["orbit"], p["parker"]) for p in parked] == [(orbit, "1001")]
    alice, carol, cid = api_site.talking("1001", "1003")
    r = api_site.alice.post("/api/v1/parked", json={"call_id": cid})
    assert r.status_code == 200 and r.json()["orbit"] != orbit
    carol.wait_hearing("music")
    assert len(api_site.alice.get("/api/v1/parked").json()["parked"]) == 2


def test_parked_calls_are_listed_and_retrieved_to_the_users_phone(api_site):
    switch = api_site.switch
    carol, alice = switch.register("1003", "Carol"), switch.register("1001", "Alice")
    carol.dial("*70", variables={"referred_by_user": "1002"})
    orbit = api_site.orbit_of(carol)
    parked = api_site.alice.get("/api/v1/parked").json()["parked"]
    assert [(p["orbit"], p["caller_number"], p["parker"], p["state"]) for p in parked] == [
        (orbit, "1003", "1002", "parked")]
    r = api_site.alice.post(f"/api/v1/parked/{orbit}/retrieve", json={})
    assert r.status_code == 202, r.text
    assert r.json()["user"] == "1001" and r.json()["orbit"] == orbit
    alice.wait_ringing(timeout=5)
    alice.answer()
    carol.wait_connected(to="1001", timeout=5)
    until(lambda: api_site.alice.get("/api/v1/parked").json()["parked"] == [], 5,
          message="the orbit was never freed")
    r = api_site.alice.post(f"/api/v1/parked/{orbit}/retrieve", json={})
    assert r.status_code == 404 and r.json()["error"] == "orbit_empty"
    r = api_site.bob.post(f"/api/v1/parked/{orbit}/retrieve", json={"user": "1001"})
    assert r.status_code == 403 and r.json()["field"] == "user"


def test_pickup_groups_show_the_ringing_calls(api_site):
    switch = api_site.switch
    bob, dave = switch.register("1002", "Bob"), switch.register("1004", "Dave")
    bob.ring_forever()
    dave.dial("1002")
    bob.wait_ringing(timeout=5)
    groups = until(lambda: [g for g in api_site.alice.get("/api/v1/pickup-groups").json()["groups"]
                            if g["ringing"]], 5, message="nothing ringing in the group")
    assert groups[0]["number"] == "*8001" and "1001" in groups[0]["members"]
    ringing = groups[0]["ringing"][0]
    assert ringing["member"] == "1002" and ringing["caller_number"] == "1004"
    assert ringing["ringing_for"] >= 0
    # 1004 is in no group and may pick up from none
    dave_token, _ = api_site.api.context.tokens.create("1004")
    assert api_site.client(dave_token).get("/api/v1/pickup-groups").json() == {"groups": []}
    dave.hangup()


def test_history_is_the_users_own_call_log(api_site):
    switch = api_site.switch
    carol = switch.register("1003", "Carol")
    carol.dial("*70", variables={"referred_by_user": "1002"})
    api_site.orbit_of(carol)
    bobs = api_site.bob.get("/api/v1/history").json()["history"]
    assert [r["action"] for r in bobs] == ["park"] and bobs[0]["details"]["parker"] == "1002"
    assert api_site.alice.get("/api/v1/history").json()["history"] == []
    everyone = api_site.admin.get("/api/v1/history").json()["history"]
    assert [r["id"] for r in everyone] == [bobs[0]["id"]]
    assert api_site.admin.get("/api/v1/history", params={"before": bobs[0]["id"]}).json() == {
        "history": []}


def test_a_call_via_work_call_to_a_users_extension_is_in_the_callees_history(api_site):
    """As the README says (and the service's own history does): the callee's history includes
    a Call Via Work call placed to their extension; nobody else's does."""
    api_site.require("callviawork")
    alice, bob = api_site.phone("1001"), api_site.phone("1002")
    alice.auto_answer()
    bob.auto_answer()
    r = api_site.alice.post("/api/v1/calls", json={"destination": "1002"})
    assert r.status_code == 202, r.text
    call_id = r.json()["id"]
    bob.wait_connected(to="1001", timeout=5)

    def rows(client):
        return [row for row in client.get("/api/v1/history").json()["history"]
                if row["details"].get("call_id") == call_id]
    until(lambda: {"connected"} <= {row["action"] for row in rows(api_site.bob)}, 5,
          message="Bob's history lacks the call placed to him")
    carol_token, _ = api_site.api.context.tokens.create("1003")
    assert rows(api_site.client(carol_token)) == []


def test_an_outside_caller_with_a_users_caller_id_is_not_that_users_call(api_site):
    """A call from a trunk (another context, no authenticated user) that says caller id 1001:
    it is not Alice's call, so Alice's token neither sees it nor can hang it up."""
    from fscontrol.sim.channels import Channel
    from fscontrol.sim.endpoints import _inbound_announce
    api_site.require("calls")
    switch = api_site.switch
    bob = api_site.phone("1002")
    bob.auto_answer()
    trunk = Channel(switch, "sofia/external/+4930555", "inbound", kind="phone",
                    cid_name="Not Alice", cid_num="1001", dest="1002", context="public",
                    variables={}, source="mod_sofia")
    switch.track(trunk)
    _inbound_announce(trunk)
    trunk.start(("dialplan", "1002", switch.context))
    bob.wait_connected(timeout=5)
    api_site.call_of("1002", "talking")              # Bob's leg is his (called by "1001")
    assert api_site.alice.get("/api/v1/calls").json() == {"calls": []}
    r = api_site.alice.delete(f"/api/v1/calls/{trunk.uuid}")
    assert r.status_code in (403, 404), r.text
    assert trunk.alive


def test_the_rate_limit_is_per_user_and_says_when_to_retry(api_site):
    api_site.require("callviawork")
    limit = api_site.config.call_via_work.rate_limit
    for _ in range(limit):   # unregistered phone: each is refused, and counted all the same
        r = api_site.alice.post("/api/v1/calls", json={"destination": "1002"})
        assert r.status_code == 409, r.text
    r = api_site.alice.post("/api/v1/calls", json={"destination": "1002"})
    assert r.status_code == 429 and r.json()["error"] == "rate_limited", r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 60 and r.json()["retry_after"] >= 1
    r = api_site.bob.post("/api/v1/calls", json={"destination": "1001"})
    assert r.status_code == 409 and r.json()["error"] == "device_unregistered"   # not limited


def test_conference_dial_in(api_site):
    api_site.require("callviawork")
    alice = api_site.phone("1001")
    alice.auto_answer()
    r = api_site.alice.post("/api/v1/conferences/sales/dial", json={})
    assert r.status_code == 202, r.text
    assert r.json()["user"] == "1001" and "sales" in r.json()["destination"]
    alice.wait_hearing("conference", timeout=5)
    r = api_site.alice.post("/api/v1/conferences/sales/dial", json={"user": "1002"})
    assert r.status_code == 403
    r = api_site.alice.post("/api/v1/conferences/bad room/dial", json={})
    assert r.status_code == 422 and r.json()["field"] == "room"


def test_standby_answers_503_but_tokens_still_checked(api_site):
    api_site.api.controller = None
    r = api_site.alice.get("/api/v1/calls")
    assert r.status_code == 503 and r.json()["error"] == "standby"
    assert api_site.anonymous.get("/api/v1/calls").status_code == 401
