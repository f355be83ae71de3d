"""Orbit allocation is atomic in PostgreSQL: concurrent parks (also from two controllers sharing
the database) never share an orbit; lowest/random order; a full range refuses."""

from datetime import datetime, timedelta, timezone

import gevent
import gevent.event
import pytest

from fscontrol.db import Database
from fscontrol.park.errors import NoOrbitAvailable, ParkStoreUnavailable
from fscontrol.park.states import ParkRequest, State, StateMachine
from fscontrol.park.store import ParkStore

from .conftest import park_range, until

SWITCH = "127.0.0.1:8021"


def deadline(rng):
    return datetime.now(timezone.utc) + timedelta(seconds=90)


def test_fifty_concurrent_parks_from_two_controllers_get_fifty_distinct_orbits(migrated):
    rng = park_range("main", "7000", "7099")
    machines = [StateMachine(ParkStore(migrated, SWITCH), "ctl-a"), StateMachine(ParkStore(migrated, SWITCH), "ctl-b")]
    jobs = [gevent.spawn(machines[i % 2].park, ParkRequest(f"uuid-{i}", f"Caller {i}", str(2000 + i)),
                         [rng], "random", deadline) for i in range(50)]
    gevent.joinall(jobs, raise_error=True)
    orbits = [j.value.orbit for j in jobs]
    assert len(set(orbits)) == 50
    assert all(rng.numbers.contains(o) for o in orbits)
    assert len(ParkStore(migrated, SWITCH).all()) == 50


def test_lowest_allocation_under_a_race_fills_from_the_bottom(migrated):
    rng = park_range("main", "7000", "7099")
    machine = StateMachine(ParkStore(migrated, SWITCH), "ctl")
    jobs = [gevent.spawn(machine.park, ParkRequest(f"u{i}"), [rng], "lowest", deadline) for i in range(20)]
    gevent.joinall(jobs, raise_error=True)
    assert sorted(j.value.orbit for j in jobs) == [f"70{i:02d}" for i in range(20)]


def test_full_range_refuses_then_next_range_is_used_and_reparking_is_idempotent(migrated):
    small, other = park_range("small", "*701", "*702"), park_range("other", "7100", "7100")
    machine = StateMachine(ParkStore(migrated, SWITCH), "ctl")
    got = [machine.park(ParkRequest(f"u{i}"), [small, other], "lowest", deadline).orbit for i in range(3)]
    assert got == ["*701", "*702", "7100"]
    assert machine.park(ParkRequest("u0"), [small, other], "lowest", deadline).orbit == "*701"
    with pytest.raises(NoOrbitAvailable):
        machine.park(ParkRequest("u9"), [small, other], "lowest", deadline)


def test_transition_is_compare_and_set_and_writes_the_call_log(migrated):
    store = ParkStore(migrated, SWITCH)
    machine = StateMachine(store, "ctl")
    call = machine.park(ParkRequest("u1", "Alice", "1001"), [park_range("m", "7000", "7009")], "lowest",
                        deadline)
    assert machine.transition(call, State.RETRIEVED, "retrieve", other_uuid="r1") is not None
    assert machine.transition(call, State.RETRIEVED, "retrieve", other_uuid="r2") is None  # lost
    assert store.by_orbit(call.orbit) is None
    assert [(r["action"], r["other_uuid"]) for r in store.call_log()] == [("park", None), ("retrieve", "r1")]


def backend_pid(store):
    return store._run(lambda conn: conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"])


def terminate(database, pid):
    with database.connection() as conn:  # waits (up to 5 s) until the backend has exited
        assert conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()[0]


def test_a_connection_is_reused_across_store_calls_and_closed_with_the_store(migrated):
    store = ParkStore(migrated, SWITCH)
    pid = backend_pid(store)
    assert store.all() == []
    assert store.by_channel("nobody") is None
    assert backend_pid(store) == pid
    store.close()
    with migrated.connection() as conn:
        until(lambda: not conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone(),
              timeout=5, message="the store's connection stayed open after close()")


def test_a_connection_the_server_ended_while_idle_is_replaced_transparently(migrated):
    store = ParkStore(migrated, SWITCH)
    pid = backend_pid(store)
    terminate(migrated, pid)
    assert store.all() == []
    assert backend_pid(store) != pid
    store.close()


def test_a_connection_lost_during_a_call_is_unavailable_then_the_next_call_recovers(migrated):
    store = ParkStore(migrated, SWITCH)
    pid = backend_pid(store)
    with pytest.raises(ParkStoreUnavailable, match="database error: "):
        store._run(lambda conn: conn.execute("SELECT pg_terminate_backend(pg_backend_pid())"))
    assert store.all() == []
    assert backend_pid(store) != pid
    store.close()


def test_all_connections_busy_is_unavailable_after_the_connect_timeout(migrated):
    database = Database(migrated.url, schema=migrated.schema, connect_timeout=0.5)
    store = ParkStore(database, max_connections=2)
    release = gevent.event.Event()
    holding = []

    def hold(conn):
        holding.append(conn)
        release.wait(10)

    holders = [gevent.spawn(store._run, hold) for _ in range(2)]
    try:
        until(lambda: len(holding) == 2, timeout=5, message="the two slots were never taken")
        with pytest.raises(ParkStoreUnavailable, match="all database connections busy"):
            store.all()
    finally:
        release.set()
        gevent.joinall(holders, timeout=5, raise_error=True)
    assert store.all() == []  # the slots are back
    store.close()


def test_one_channel_parked_at_once_by_two_controllers_gets_one_orbit(migrated):
    # the channel_uuid key conflicts too: ON CONFLICT DO NOTHING makes it a lost race, not an error
    rng = park_range("main", "7000", "7099")
    machines = [StateMachine(ParkStore(migrated, SWITCH), "ctl-a"), StateMachine(ParkStore(migrated, SWITCH), "ctl-b")]
    jobs = [gevent.spawn(machines[i % 2].park, ParkRequest("same-uuid", "Caller", "2000"),
                         [rng], "random", deadline) for i in range(10)]
    gevent.joinall(jobs, raise_error=True)
    assert len({j.value.orbit for j in jobs}) == 1
    assert [c.channel_uuid for c in ParkStore(migrated, SWITCH).all()] == ["same-uuid"]


def test_every_feature_store_keeps_its_connection_and_its_own_row_shape(migrated):
    """Pickup and voicemail read rows as tuples, park and the API as dicts: a pooled connection
    a statement switched to dicts comes back to the next caller in its pool's own shape."""
    from psycopg.rows import dict_row
    from fscontrol.pickup.store import PickupStore
    from fscontrol.voicemail.store import VoicemailStore
    for store in (PickupStore(migrated, SWITCH), VoicemailStore(migrated, SWITCH)):
        def as_dicts(conn):
            conn.row_factory = dict_row
            return conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
        pid = store._run(as_dicts)
        assert store._run(lambda conn: conn.execute("SELECT pg_backend_pid()").fetchone()) == (pid,)
        store.close()
