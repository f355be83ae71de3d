"""The live events bus (fscontrol/bus.py) as a stream client lives it: events scoped to its
user, resumable with Last-Event-ID while they are still in the bounded buffer, and a client
that stops reading dropped without holding up anybody else."""

import gevent
import pytest

from fscontrol.bus import Dropped, EventBus


def _call(n, user="1001"):
    return {"id": f"call-{n}", "user": user, "state": "ringing"}


def _read(sub, timeout=0):
    got = []
    while (event := sub.get(timeout=timeout)) is not None:
        got.append(event)
    return got


def test_a_user_receives_only_the_events_naming_them_and_an_admin_receives_all():
    bus = EventBus()
    alice, _ = bus.subscribe("1001")
    bob, _ = bus.subscribe("1002")
    admin, _ = bus.subscribe(None)
    bus.publish("call_created", _call(1), ["1001"])
    bus.publish("call_created", _call(2, "1002"), ["1002"])
    bus.publish("call_picked_up", _call(3), ["1001", "1002"])
    assert [e.call["id"] for e in _read(alice)] == ["call-1", "call-3"]
    assert [e.call["id"] for e in _read(bob)] == ["call-2", "call-3"]
    assert [e.call["id"] for e in _read(admin)] == ["call-1", "call-2", "call-3"]


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        EventBus().publish("call_exploded", _call(1), ["1001"])


def test_last_event_id_gives_the_missed_events_of_that_user_only():
    bus = EventBus(buffer=10)
    first = bus.publish("call_created", _call(1), ["1001"])
    bus.publish("call_created", _call(2, "1002"), ["1002"])
    bus.publish("call_answered", _call(1), ["1001"])
    bus.publish("call_ended", _call(1), ["1001"])
    sub, missed = bus.subscribe("1001", last_id=first.id)
    assert [(e.kind, e.call["id"]) for e in missed] == [("call_answered", "call-1"),
                                                        ("call_ended", "call-1")]
    assert missed[0].id > first.id and missed == sorted(missed, key=lambda e: e.id)
    _, none_missed = bus.subscribe("1001", last_id=missed[-1].id)
    assert none_missed == []
    bus.publish("call_created", _call(4), ["1001"])
    assert [e.call["id"] for e in _read(sub)] == ["call-4"]    # and then the live ones


def test_a_last_event_id_older_than_the_buffer_asks_for_a_snapshot():
    bus = EventBus(buffer=3)
    first = bus.publish("call_created", _call(0), ["1001"])
    for n in range(1, 6):
        bus.publish("call_updated", _call(n), ["1001"])
    _, missed = bus.subscribe("1001", last_id=first.id)
    assert missed is None                   # events after it were dropped from the buffer
    _, fresh = bus.subscribe("1001")
    assert fresh is None                    # no Last-Event-ID: a snapshot too


def test_a_slow_subscriber_is_dropped_while_the_others_keep_receiving():
    bus = EventBus(buffer=100, client_queue=5)
    stalled, _ = bus.subscribe(None)
    reader, _ = bus.subscribe(None)
    got = []

    def read():
        while True:
            event = reader.get(timeout=1)
            if event is None:
                return
            got.append(event.call["id"])

    g = gevent.spawn(read)
    for n in range(20):
        bus.publish("call_created", _call(n), ["1001"])
        gevent.sleep(0)             # the live reader keeps up; the stalled one never reads
    g.join(3)
    assert got == [f"call-{n}" for n in range(20)]
    assert stalled.dropped and bus.dropped_clients == 1 and bus.subscribers == 1
    with pytest.raises(Dropped):
        _read(stalled)              # what it queued is gone: it must resume or resnapshot


def test_publishing_never_blocks_on_a_stalled_subscriber():
    bus = EventBus(buffer=10, client_queue=2)
    bus.subscribe("1001")
    with gevent.Timeout(1):
        for n in range(1000):
            bus.publish("call_updated", _call(n), ["1001"])
    assert bus.subscribers == 0
