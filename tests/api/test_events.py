"""GET /api/v1/events: the snapshot first, the user's events only, Last-Event-ID resumption (the
missed events, or a new snapshot once they are gone), heartbeats, and a client that stops reading
dropped without delaying the others."""

import dataclasses
import datetime
import socket

import gevent

from park.conftest import until

from .conftest import SseReader


def test_snapshot_first_then_only_the_users_events(api_site):
    api_site.require("calls")
    alice, carol, mine = api_site.talking("1001", "1003")
    alice_stream = SseReader(api_site.alice)
    admin_stream = SseReader(api_site.admin)
    try:
        assert alice_stream.response.status_code == 200
        assert alice_stream.response.headers["Content-Type"].startswith("text/event-stream")
        until(lambda: alice_stream.events and admin_stream.events, 5, message="no snapshot")
        _, kind, data = alice_stream.events[0]
        assert kind == "snapshot" and [c["id"] for c in data["calls"]] == [mine]
        assert sorted(c["user"] for c in admin_stream.events[0][2]["calls"]) == ["1001", "1003"]
        bob = api_site.phone("1002")
        bob.auto_answer()
        api_site.phone("1004").dial("1002")            # Bob's call: not Alice's business
        bob.wait_connected(to="1004")
        alice.hangup()
        until(lambda: "call_ended" in alice_stream.kinds(), 5, message="Alice's end never came")
        until(lambda: {"call_answered", "call_ended"} <= set(admin_stream.kinds()), 5,
              message="the admin missed events")
        ended = next(d for _, k, d in alice_stream.events if k == "call_ended")
        assert ended["id"] == mine and ended["reason"] == "NORMAL_CLEARING"
        assert {d["user"] for _, k, d in alice_stream.events[1:]} == {"1001"}
        assert "1002" in {d["user"] for _, k, d in admin_stream.events[1:]}
        ids = [i for i, _, _ in admin_stream.events[1:]]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
    finally:
        alice_stream.close()
        admin_stream.close()


def publish(api_site, kind, user, **fields):
    """An event as the call tracker publishes it (the stream's mechanics need no phone)."""
    return api_site.controller.bus.publish(kind, {"id": "c-" + user, "user": user, **fields},
                                           [user])


def test_last_event_id_replays_what_was_missed(api_site):
    api_site.require("calls")
    publish(api_site, "call_created", "1001")      # the stream's ids exist before the client
    first = SseReader(api_site.alice)
    publish(api_site, "call_ringing", "1001")
    until(lambda: len(first.events) == 2, 5, message="no event")
    seen = first.last_id
    first.close()
    publish(api_site, "call_answered", "1001")
    publish(api_site, "call_created", "1002")      # not Alice's: not replayed to her
    publish(api_site, "call_ended", "1001")
    again = SseReader(api_site.alice, last_id=seen)
    try:
        until(lambda: len(again.events) >= 2, 5, message="nothing replayed")
        assert again.kinds() == ["call_answered", "call_ended"]       # no snapshot: none missed
        assert again.events[0][0] > seen
    finally:
        again.close()
    # the query parameter does the same for clients that cannot set the header
    by_query = SseReader(api_site.alice, params={"last_event_id": seen})
    try:
        until(lambda: len(by_query.events) >= 2, 5, message="nothing replayed")
        assert by_query.kinds() == ["call_answered", "call_ended"]
    finally:
        by_query.close()


def test_a_resume_point_that_left_the_buffer_gets_a_fresh_snapshot(api_site):
    api_site.require("calls")
    bus = api_site.controller.bus
    alice, bob, mine = api_site.talking("1001", "1002")
    old = bus.last_id
    for _ in range(bus._buffer.maxlen + 5):       # push the old id out of the bounded buffer
        publish(api_site, "call_updated", "1003")
    for last_id in (old - 1, bus.last_id + 1000):   # gone, or never given by this stream
        reader = SseReader(api_site.alice, last_id=last_id)
        try:
            until(lambda: reader.events, 5, message="no snapshot")
            assert reader.kinds() == ["snapshot"]
            assert reader.events[0][0] == bus.last_id
            assert [c["id"] for c in reader.events[0][2]["calls"]] == [mine]
        finally:
            reader.close()


def test_heartbeats_keep_an_idle_stream_alive(api_site):
    api_site.require("calls")
    reader = SseReader(api_site.alice)
    try:
        until(lambda: "keep-alive" in reader.comments, 5, message="no heartbeat")
    finally:
        reader.close()


def test_bad_last_event_id_names_the_header(api_site):
    api_site.require("calls")
    r = api_site.alice.get("/api/v1/events", headers={"Last-Event-ID": "abc"})
    assert r.status_code == 422 and r.json()["field"] == "Last-Event-ID"
    # digits to str.isdigit() that int() refuses (a latin-1 header byte, 0xB2), or far too many
    for garbage in ("\u00b2", "1\u00b9", "9" * 40):
        r = api_site.alice.get("/api/v1/events", headers={"Last-Event-ID": garbage})
        assert r.status_code == 422 and r.json()["field"] == "Last-Event-ID", (garbage, r.text)


def test_a_stalled_client_is_dropped_and_does_not_delay_the_others(api_site):
    api_site.require("calls")
    bus = api_site.controller.bus
    # a client that sends its request and then never reads: a small receive buffer fills fast
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", api_site.api.port))
    stalled.sendall(b"GET /api/v1/events HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer "
                    + api_site.tokens["admin"].encode() + b"\r\n\r\n")
    until(lambda: bus.subscribers == 1, 5, message="the stalled client never subscribed")
    good = SseReader(api_site.admin)
    until(lambda: good.events, 5, message="no snapshot")
    big = "x" * 8000
    sent = 0
    slowest = 0.0
    try:
        for _ in range(120):           # ~8 MB: far past the socket buffers on both sides
            for _ in range(8):
                bus.publish("call_updated", {"id": "c", "user": "1001", "note": big}, ["1001"])
                sent += 1
            started = gevent.get_hub().loop.now()
            until(lambda: len(good.events) == 1 + sent, 5, message="the good client fell behind")
            slowest = max(slowest, gevent.get_hub().loop.now() - started)
            if bus.dropped_clients:
                break
        assert bus.dropped_clients == 1, "the stalled client was never dropped"
        assert bus.subscribers == 1                  # the good one is still there
        assert slowest < 1.0
        bus.publish("call_updated", {"id": "c", "user": "1001"}, ["1001"])
        until(lambda: len(good.events) == 2 + sent, 5, message="the good client lost its stream")
    finally:
        good.close()
        stalled.close()


def test_streams_end_when_the_controller_steps_down(api_site):
    api_site.require("calls")
    reader = SseReader(api_site.alice)
    until(lambda: reader.events, 5, message="no snapshot")
    api_site.api.controller = None                  # lost the switch's lock: standby
    until(lambda: reader.greenlet.dead, 5, message="the stream outlived its controller")
    r = api_site.alice.get("/api/v1/events")
    assert r.status_code == 503 and r.json()["error"] == "standby"


def test_streams_beyond_max_streams_are_refused(api_site):
    api_site.require("calls")
    api_site.api.context.config = dataclasses.replace(
        api_site.config, api=dataclasses.replace(api_site.config.api, max_streams=1))
    first = SseReader(api_site.alice)
    try:
        until(lambda: first.events, 5, message="no snapshot")
        r = api_site.bob.get("/api/v1/events")
        assert r.status_code == 429 and r.json()["error"] == "too_many_streams"
    finally:
        first.close()
    until(lambda: api_site.controller.bus.subscribers == 0, 5, message="the stream stayed open")
    second = SseReader(api_site.bob)
    try:
        until(lambda: second.events, 5, message="a stream was refused after the other closed")
    finally:
        second.close()


def test_a_stream_ends_once_its_token_is_revoked_or_expired(api_site):
    """The stream's request was authenticated once, when it opened: a revoked token (`fscontrol
    token revoke`: "requests with it now get 401") must not go on receiving the user's calls."""
    api_site.require("calls")
    tokens = api_site.api.context.tokens
    token, row = tokens.create("1002")
    reader = SseReader(api_site.client(token))
    brief, _ = tokens.create("1002", expires=datetime.timedelta(seconds=2))
    expiring = SseReader(api_site.client(brief))
    try:
        until(lambda: reader.events and expiring.events, 5, message="no snapshot")
        tokens.revoke(row.id)
        until(lambda: reader.greenlet.dead, 5, message="the revoked token's stream goes on")
        until(lambda: expiring.greenlet.dead, 8, message="the expired token's stream goes on")
        publish(api_site, "call_created", "1002")
        assert reader.kinds() == ["snapshot"] and expiring.kinds() == ["snapshot"]
    finally:
        reader.close()
        expiring.close()


def test_one_token_cannot_take_every_stream(api_site):
    """A client of one token opening streams in a loop: its eleventh is refused, and another
    user's stream still opens (without the cap the one token took all api.max_streams)."""
    api_site.require("calls")
    api_site.api.context.config = dataclasses.replace(
        api_site.config, api=dataclasses.replace(api_site.config.api, max_streams=11))
    mine = [SseReader(api_site.alice) for _ in range(10)]
    try:
        until(lambda: all(m.events for m in mine), 5, message="no snapshot")
        r = api_site.alice.get("/api/v1/events")
        assert r.status_code == 429 and r.json()["error"] == "too_many_streams"
        assert "token" in r.json()["message"]
        bobs = SseReader(api_site.bob)
        try:
            until(lambda: bobs.events, 5, message="Bob's stream was refused")
        finally:
            bobs.close()
    finally:
        for m in mine:
            m.close()
    until(lambda: api_site.controller.bus.subscribers == 0, 5, message="streams stayed open")
    again = SseReader(api_site.alice)
    try:
        until(lambda: again.events, 5, message="the token's streams were not counted down")
    finally:
        again.close()
