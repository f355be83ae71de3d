"""The attendant console's API: the board (orbits, pickup groups, users' states), /me, picking
up a ringing call to the user's phone, and the board on the event stream."""

import dataclasses

import gevent
import pytest

from api.conftest import SseReader
from fscontrol.config.model import User
from fscontrol.config import load
from park.conftest import ROOT
from waiting import until


@pytest.fixture
def base_config():
    """The example config and Dave (1004), a user in no pickup group."""
    config = load(ROOT / "fscontrol.example.toml", env={})
    return dataclasses.replace(config, users=config.users + (User("1004", "Dave"),))


def test_me_names_the_tokens_user(api_site):
    assert api_site.alice.get("/api/v1/me").json() == {"user": "1001", "name": "Alice",
                                                       "admin": False}
    assert api_site.admin.get("/api/v1/me").json()["admin"] is True
    assert api_site.anonymous.get("/api/v1/me").status_code == 401


def test_board_shows_orbits_parked_calls_and_users_states(api_site):
    board = api_site.alice.get("/api/v1/board").json()
    assert [(r["name"], r["start"], r["end"], r["size"]) for r in board["ranges"]] == [
        ("main", "7000", "7099", 100)]
    assert board["ranges"][0]["orbits"][:2] == ["7000", "7001"]
    assert board["parked"] == []
    assert {u["extension"]: u["state"] for u in board["users"]}["1002"] == "idle"

    carol = api_site.switch.register("1003", "Carol")
    carol.dial("*70", variables={"referred_by_user": "1002"})
    orbit = api_site.orbit_of(carol)
    parked = api_site.alice.get("/api/v1/parked").json()["parked"]
    assert [(p["orbit"], p["range"], p["parker"]) for p in parked] == [(orbit, "main", "1002")]
    assert 0 < parked[0]["ringback_in"] <= 90 and parked[0]["deadline"] > parked[0]["parked_at"]
    assert api_site.alice.get("/api/v1/board").json()["parked"][0]["orbit"] == orbit

    bob, dave = api_site.phone("1002"), api_site.phone("1004")
    bob.ring_forever()
    dave.dial("1002")
    bob.wait_ringing()
    states = until(lambda: (lambda s: s if s["1002"] == "ringing" else None)(
        {u["extension"]: u["state"] for u in api_site.alice.get("/api/v1/board").json()["users"]}),
        5, message="Bob never showed ringing")
    assert states["1001"] == "idle"
    # a lamp, not who with: a user token's board names no peer of another user's call
    assert {k for u in api_site.alice.get("/api/v1/board").json()["users"] for k in u} == {
        "extension", "name", "state"}
    bob.answer()
    until(lambda: {u["extension"]: u["state"] for u in api_site.alice.get(
        "/api/v1/board").json()["users"]}["1002"] == "talking", 5, message="Bob never talking")


def test_pickup_to_my_phone_by_group_and_by_member(api_site):
    switch = api_site.switch
    alice, bob, dave = api_site.phone("1001"), api_site.phone("1002"), api_site.phone("1004")
    r = api_site.alice.post("/api/v1/pickup", json={"group": "*8001"})
    assert r.status_code == 404 and r.json()["error"] == "nothing_ringing", r.text
    bob.ring_forever()
    dave.dial("1002")
    bob.wait_ringing()
    until(lambda: api_site.alice.get("/api/v1/board").json()["groups"][0]["ringing"], 5,
          message="nothing ringing in the group")
    r = api_site.alice.post("/api/v1/pickup", json={"group": "*8001"})
    assert r.status_code == 202, r.text
    assert r.json()["user"] == "1001" and r.json()["group"] == "*8001"
    alice.answer()
    dave.wait_connected(to="1001")
    bob.wait_idle()
    dave.hangup()
    alice.wait_idle()

    # directed: the member named
    dave.dial("1002")
    bob.wait_ringing()
    r = api_site.alice.post("/api/v1/pickup", json={"member": "1002"})
    assert r.status_code == 202, r.text
    alice.answer()
    dave.wait_connected(to="1001")
    dave.hangup()
    del switch


def test_pickup_errors_name_the_field(api_site):
    bob, dave = api_site.phone("1002"), api_site.phone("1004")
    assert api_site.alice.post("/api/v1/pickup", json={}).json()["field"] == "group"
    r = api_site.alice.post("/api/v1/pickup", json={"group": "*8001", "member": "1002"})
    assert r.status_code == 422 and r.json()["field"] == "group"
    r = api_site.alice.post("/api/v1/pickup", json={"member": "1999"})
    assert r.status_code == 404 and r.json() == {
        "error": "unknown_user", "field": "member",
        "message": "member: 1999 is not a users[].extension"}
    bob.ring_forever()
    api_site.phone("1003").dial("1002")
    bob.wait_ringing()
    dave_token, _ = api_site.api.context.tokens.create("1004")
    r = api_site.client(dave_token).post("/api/v1/pickup", json={"group": "*8001"})
    assert r.status_code == 403 and r.json()["error"] == "pickup_not_allowed", r.text
    r = api_site.alice.post("/api/v1/pickup", json={"group": "*8001", "user": "1002"})
    assert r.status_code == 403 and r.json()["field"] == "user"
    r = api_site.admin.post("/api/v1/pickup", json={"group": "*8001"})
    assert r.status_code == 422 and r.json()["field"] == "user"
    del dave


def test_event_stream_with_the_board(api_site):
    reader = SseReader(api_site.alice, "/api/v1/events?board=true")
    try:
        until(lambda: reader.kinds()[:2] == ["snapshot", "board"], 5,
              message=f"no snapshot and board first: {reader.kinds()}")
        carol = api_site.phone("1003")
        carol.dial("*70", variables={"referred_by_user": "1002"})
        orbit = api_site.orbit_of(carol)
        board = until(lambda: next((d for _, k, d in reversed(reader.events)
                                    if k == "board" and d["parked"]), None), 2,
                      message="no board with the parked call")
        assert board["parked"][0]["orbit"] == orbit
        # Bob's and Carol's own call events are not Alice's: only boards reach her
        assert set(reader.kinds()) == {"snapshot", "board"}
        assert all(i is None for i, k, _ in reader.events if k == "board")
        # an unchanged board is not sent again
        n = len(reader.events)
        gevent.sleep(1.5)   # longer than a heartbeat (1 s here): nothing changed, nothing sent
        assert len(reader.events) == n and reader.comments
    finally:
        reader.close()


def test_board_streams_of_many_consoles_share_one_read(api_site, monkeypatch):
    from fscontrol.api import board as board_module
    reads = []
    real = board_module.parked_rows
    monkeypatch.setattr(board_module, "parked_rows", lambda ctx: reads.append(1) or real(ctx))
    readers = [SseReader(c, "/api/v1/events?board=true")
               for c in (api_site.alice, api_site.bob, api_site.admin)]
    try:
        until(lambda: all("board" in r.kinds() for r in readers), 5, message="no boards")
        carol = api_site.phone("1003")
        gevent.sleep(0.5)       # the opening boards' second looks are over
        reads.clear()
        mark = api_site.controller.bus.last_id or 0
        carol.dial("*70", variables={"referred_by_user": "1002"})
        api_site.orbit_of(carol)
        until(lambda: all(any(k == "board" and d["parked"] for _, k, d in r.events)
                          for r in readers), 2, message="a console never saw the park")
        gevent.sleep(0.5)       # the second looks after the last event
        # one read per event and one per second look, however many consoles are open (each
        # of the three streams reading for itself would be three times that)
        events = len([e for e in api_site.controller.bus._buffer if e.id > mark])
        assert 0 < len(reads) <= 2 * events, (len(reads), events)
    finally:
        for r in readers:
            r.close()
