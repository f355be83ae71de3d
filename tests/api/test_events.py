"""GET /api/v1/events: the snapshot first, the user's events only, Last-Event-ID resumption (the
missed events, or a new snapshot once they are gone), heartbeats, and a client that stops reading
dropped without delaying the others."""

import socket

import gevent

from park.conftest import until

from .conftest import SseReader


def test_snapshot_first_then_only_the_users_events(api_site):
    mine = api_site.tracker.add("1001", "1003")
    api_site.tracker.add("1002", "1004")
    alice = SseReader(api_site.alice)
    admin = SseReader(api_site.admin)
    try:
        assert alice.response.status_code == 200
        assert alice.response.headers["Content-Type"].startswith("text/event-stream")
        until(lambda: alice.events and admin.events, 5, message="no snapshot")
        _, kind, data = alice.events[0]
        assert kind == "snapshot" and [c["id"] for c in data["calls"]] == [mine["id"]]
        assert len(admin.events[0][2]["calls"]) == 2
        bobs = api_site.tracker.add("1002", "1001")
        api_site.tracker.update(mine["id"], "call_answered", state="talking")
        api_site.tracker.end(mine["id"])
        until(lambda: len(alice.events) == 3 and len(admin.events) == 4, 5,
              message="events did not arrive")
        assert alice.kinds() == ["snapshot", "call_answered", "call_ended"]
        assert alice.events[2][2]["reason"] == "NORMAL_CLEARING"
        assert admin.kinds() == ["snapshot", "call_created", "call_answered", "call_ended"]
        assert admin.events[1][2]["id"] == bobs["id"]
        ids = [i for i, _, _ in admin.events[1:]]
        assert ids == sorted(ids) and len(set(ids)) == 3
    finally:
        alice.close()
        admin.close()


def test_last_event_id_replays_what_was_missed(api_site):
    api_site.tracker.add("1001")           # the stream's ids exist before the client connects
    first = SseReader(api_site.alice)
    a = api_site.tracker.add("1001")
    until(lambda: len(first.events) == 2, 5, message="no event")
    seen = first.last_id
    first.close()
    api_site.tracker.update(a["id"], "call_answered", state="talking")
    api_site.tracker.add("1002")                    # not Alice's: not replayed to her
    api_site.tracker.end(a["id"])
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
    bus = api_site.controller.bus
    api_site.tracker.add("1001")
    old = bus.last_id
    for _ in range(bus._buffer.maxlen + 5):       # push the old id out of the bounded buffer
        bus.publish("call_updated", {"id": "x", "user": "1002"}, ["1002"])
    for last_id in (old - 1, bus.last_id + 1000):   # gone, or never given by this stream
        reader = SseReader(api_site.alice, last_id=last_id)
        try:
            until(lambda: reader.events, 5, message="no snapshot")
            assert reader.kinds() == ["snapshot"]
            assert reader.events[0][0] == bus.last_id
            assert len(reader.events[0][2]["calls"]) == 1
        finally:
            reader.close()


def test_heartbeats_keep_an_idle_stream_alive(api_site):
    reader = SseReader(api_site.alice)
    try:
        until(lambda: "keep-alive" in reader.comments, 5, message="no heartbeat")
    finally:
        reader.close()


def test_bad_last_event_id_names_the_header(api_site):
    r = api_site.alice.get("/api/v1/events", headers={"Last-Event-ID": "abc"})
    assert r.status_code == 422 and r.json()["field"] == "Last-Event-ID"


def test_a_stalled_client_is_dropped_and_does_not_delay_the_others(api_site):
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
