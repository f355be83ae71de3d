"""Call Park's SQL: orbit allocation (INSERT ... ON CONFLICT DO NOTHING over the free candidates,
random or lowest first), compare-and-set transitions with their call_log row, and reads. A store
works on one switch's rows (`switch`: its identity, `SwitchConfig.identity`): orbits are per
switch, and nothing here reads or changes another switch's parked calls."""

from __future__ import annotations

import json
import logging


from ..db.connect import Pool
from .errors import NoOrbitAvailable, ParkStoreUnavailable
from .states import ParkedCall, ParkRequest, State

log = logging.getLogger("fscontrol.park")

COLUMNS = ("orbit, range_name, channel_uuid, caller_name, caller_number, parker, state, attempts, "
           "deadline, ringback_uuid, parked_at, controller_id, switch")

# One statement: the first free candidate (random or lowest) is inserted unless someone else
# inserted it meanwhile, in which case nothing is inserted and the caller tries again. Free: no
# row of this switch holds it, nor an unclaimed one (switch '': parked before migration 0003 and
# not yet taken over, see `take_over`).
ALLOCATE = """
WITH candidate AS (
    SELECT %(prefix)s || lpad(g::text, %(width)s, '0') AS orbit
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
    WHERE NOT EXISTS (SELECT 1 FROM parked_calls p
                      WHERE p.switch IN (%(switch)s, '')
                        AND p.orbit = %(prefix)s || lpad(g::text, %(width)s, '0'))
    ORDER BY {order}
    LIMIT 1
)
INSERT INTO parked_calls (switch, orbit, range_name, channel_uuid, caller_name, caller_number,
                          parker, state, attempts, deadline, controller_id)
SELECT %(switch)s, orbit, %(range_name)s, %(uuid)s, %(caller_name)s, %(caller_number)s, %(parker)s,
       'parked', 0, %(deadline)s, %(controller_id)s
FROM candidate
ON CONFLICT DO NOTHING
RETURNING """ + COLUMNS

MAX_RACES = 500  # lost INSERT races per range before giving up (each one means progress elsewhere)


def _call(row: dict) -> ParkedCall:
    return ParkedCall(row["orbit"], row["range_name"], row["channel_uuid"], row["caller_name"],
                      row["caller_number"], row["parker"], State(row["state"]), row["attempts"],
                      row["deadline"], row["ringback_uuid"], row["parked_at"], row["controller_id"],
                      row["switch"])


class ParkStore:
    """Parked calls of one switch in PostgreSQL. Every failure to reach the database is
    ParkStoreUnavailable.

    `switch` is the identity of the switch whose rows this store reads and writes; None (an
    operator's view in tests) reads every switch's rows and cannot park.

    Connections are kept open between calls (`fscontrol.db.connect.Pool`, at most
    `max_connections` in use or idle). `close()` closes the idle ones."""

    def __init__(self, database, switch: str | None = None, max_connections: int = 10):
        self.switch = switch
        # "AND switch = <this switch>" for every read and write; nothing for a view of all switches
        self._mine = "" if switch is None else " AND switch = %(switch)s"
        # bounded: 50 calls parked at once must not open 50 connections
        self.pool = Pool(database, "park", ParkStoreUnavailable, max_connections)
        self._run = self.pool.run

    @property
    def database(self):
        return self.pool.database

    def close(self) -> None:
        """Close the idle connections; calls still work afterwards, on a connection each."""
        self.pool.close()

    def _params(self, **params) -> dict:
        return {"switch": self.switch, **params}

    def _by_channel(self, conn, uuid: str) -> ParkedCall | None:
        row = conn.execute(f"SELECT {COLUMNS} FROM parked_calls WHERE channel_uuid = %(uuid)s"
                           + self._mine, self._params(uuid=uuid)).fetchone()
        return _call(row) if row else None

    # -- allocation ------------------------------------------------------------------------
    def allocate(self, request: ParkRequest, ranges, allocation: str, deadline_for,
                 controller_id: str) -> ParkedCall:
        """The first park range with a free orbit gives one; NoOrbitAvailable when all are full.
        Parking a channel that is already parked returns its existing row."""
        if self.switch is None:
            raise ValueError("a ParkStore without a switch cannot park")
        order = "random()" if allocation == "random" else "g"
        sql = ALLOCATE.format(order=order)

        def run(conn):
            existing = self._by_channel(conn, request.channel_uuid)
            if existing:
                return existing
            for rng in ranges:
                numbers = rng.numbers
                params = {"switch": self.switch, "prefix": numbers.prefix, "width": numbers.width, "first": numbers.first,
                          "last": numbers.last, "range_name": rng.name, "uuid": request.channel_uuid,
                          "caller_name": request.caller_name, "caller_number": request.caller_number,
                          "parker": request.parker, "deadline": deadline_for(rng),
                          "controller_id": controller_id}
                for _ in range(MAX_RACES):
                    with conn.transaction():
                        # ON CONFLICT DO NOTHING (no target) covers both unique keys, orbit and
                        # channel_uuid: a lost race is no row, never a UniqueViolation
                        row = conn.execute(sql, params).fetchone()
                        if row:
                            call = _call(row)
                            self._log(conn, "park", call.channel_uuid, None, call.orbit,
                                      {"range": call.range_name, "parker": call.parker,
                                       "caller": call.caller, "via": request.via})
                            return call
                    again = self._by_channel(conn, request.channel_uuid)
                    if again:
                        return again
                    taken = conn.execute("SELECT count(*) AS n FROM parked_calls WHERE switch = %s "
                                         "AND range_name = %s", (self.switch, rng.name)).fetchone()["n"]
                    if taken >= numbers.size:
                        break  # this range is full: try the next one
            raise NoOrbitAvailable(
                "no free orbit in " + ", ".join(f"{r.name} ({r.start}-{r.end})" for r in ranges))

        return self._run(run)

    # -- transitions -----------------------------------------------------------------------
    def apply(self, old: ParkedCall, new: ParkedCall, action: str, other_uuid, details) -> bool:
        """Compare-and-set `old` -> `new` plus its call_log row, in one transaction. The row must
        still be exactly `old` (state, attempts and ring-back): a decision taken on a stale
        read (a reconcile's snapshot, a ring-back already settled) changes nothing."""
        same = ("switch = %s AND orbit = %s AND channel_uuid = %s AND state = %s AND attempts = %s "
                "AND ringback_uuid IS NOT DISTINCT FROM %s")
        key = (old.switch, old.orbit, old.channel_uuid, old.state.value, old.attempts, old.ringback_uuid)

        def run(conn):
            with conn.transaction():
                if new.state.terminal:
                    row = conn.execute(f"DELETE FROM parked_calls WHERE {same} RETURNING orbit",
                                       key).fetchone()
                else:
                    row = conn.execute(
                        "UPDATE parked_calls SET state = %s, attempts = %s, deadline = %s, "
                        f"ringback_uuid = %s, updated_at = now() WHERE {same} RETURNING orbit",
                        (new.state.value, new.attempts, new.deadline, new.ringback_uuid) + key
                    ).fetchone()
                if not row:
                    return False
                self._log(conn, action, old.channel_uuid, other_uuid, old.orbit, details)
                return True
        return self._run(run)

    def _log(self, conn, action, channel_uuid, other_uuid, orbit, details) -> None:
        conn.execute("INSERT INTO call_log (feature, switch, action, channel_uuid, other_uuid, orbit, "
                     "details) VALUES ('park', %s, %s, %s, %s, %s, %s)",
                     (self.switch, action, channel_uuid, other_uuid, orbit,
                      json.dumps(details, default=str)))

    def log_event(self, action: str, channel_uuid=None, other_uuid=None, orbit=None, **details) -> None:
        """A call_log row that is no transition (a refused park, ...). Best effort."""
        try:
            self._run(lambda conn: self._log(conn, action, channel_uuid, other_uuid, orbit, details))
        except ParkStoreUnavailable as e:
            log.warning("park: call_log %s not written: %s", action, e)

    # -- reads -----------------------------------------------------------------------------
    def by_orbit(self, orbit: str) -> ParkedCall | None:
        row = self._run(lambda c: c.execute(
            f"SELECT {COLUMNS} FROM parked_calls WHERE orbit = %(orbit)s" + self._mine,
            self._params(orbit=orbit)).fetchone())
        return _call(row) if row else None

    def by_channel(self, uuid: str) -> ParkedCall | None:
        return self._run(lambda conn: self._by_channel(conn, uuid))

    def all(self) -> list[ParkedCall]:
        """This switch's parked calls (every switch's for a store without one), by orbit."""
        return self._run(lambda conn: [_call(r) for r in conn.execute(
            f"SELECT {COLUMNS} FROM parked_calls WHERE true" + self._mine + " ORDER BY orbit, switch",
            self._params()).fetchall()])

    def take_over(self, controller_id: str) -> list[ParkedCall]:
        """This switch's parked calls, now run by `controller_id` (after a restart or a standby's
        takeover: the reconcile's view). Rows parked before switch identities existed (migration
        0003: switch '') become this switch's: the first controller to reconcile takes them."""
        if self.switch is None:
            raise ValueError("a ParkStore without a switch cannot take calls over")

        def run(conn):
            with conn.transaction():
                # an unclaimed row keeps its orbit taken on every switch (ALLOCATE), so no row of
                # this switch can hold the same orbit; NOT EXISTS only guards against a bug there
                claimed = conn.execute(
                    "UPDATE parked_calls SET switch = %(switch)s WHERE switch = '' AND NOT EXISTS "
                    "(SELECT 1 FROM parked_calls o WHERE o.switch = %(switch)s "
                    "AND o.orbit = parked_calls.orbit)", self._params()).rowcount
                conn.execute("UPDATE parked_calls SET controller_id = %(ctl)s WHERE switch = %(switch)s "
                             "AND controller_id <> %(ctl)s", self._params(ctl=controller_id))
                rows = conn.execute(f"SELECT {COLUMNS} FROM parked_calls WHERE switch = %(switch)s "
                                    "ORDER BY orbit", self._params()).fetchall()
            if claimed:
                log.info("park: %d parked call(s) recorded before switch identities (migration "
                         "0003) are now switch %s's", claimed, self.switch)
            return [_call(r) for r in rows]
        return self._run(run)

    def last_log_id(self) -> int:
        """The newest call_log row's id (0 when empty): a mark to read what happens after it."""
        return self._run(lambda c: c.execute(
            "SELECT coalesce(max(id), 0) AS last FROM call_log").fetchone()["last"])

    def park_outcome(self, channel_uuid: str, after_id: int) -> dict | None:
        """The first park or park_refused row of the channel after `after_id`, or None yet."""
        return self._run(lambda c: c.execute(
            "SELECT * FROM call_log WHERE feature = 'park' AND id > %s AND channel_uuid = %s "
            "AND action IN ('park', 'park_refused') ORDER BY id LIMIT 1",
            (after_id, channel_uuid)).fetchone())

    def call_log(self, orbit: str | None = None) -> list[dict]:
        """This switch's park events (every switch's for a store without one), oldest first."""
        where = self._mine + ("" if orbit is None else " AND orbit = %(orbit)s")
        return self._run(lambda conn: conn.execute(
            "SELECT * FROM call_log WHERE feature = 'park'" + where + " ORDER BY id",
            self._params(orbit=orbit)).fetchall())
