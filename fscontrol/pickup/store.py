"""Group Call Pickup's SQL: the run-time membership changes of one switch (pickup_assignments)
and the pickup rows of call_log."""

from __future__ import annotations

import json

from psycopg.rows import tuple_row

from ..db.connect import Pool
from .errors import PickupStoreUnavailable


class PickupStore:
    def __init__(self, database, switch: str):
        self.switch = switch
        self.pool = Pool(database, "pickup", PickupStoreUnavailable, row_factory=tuple_row)
        self._run = self.pool.run

    @property
    def database(self):
        return self.pool.database

    def close(self) -> None:
        self.pool.close()

    def assignments(self) -> dict[str, str | None]:
        """extension -> group number (None: in no group) for every user changed at run time."""
        def run(conn):
            rows = conn.execute("SELECT extension, group_number FROM pickup_assignments "
                                "WHERE switch = %s", (self.switch,)).fetchall()
            return {ext: group for ext, group in rows}
        return self._run(run)

    def assign(self, extension: str, group_number: str | None) -> None:
        def run(conn):
            conn.execute("INSERT INTO pickup_assignments (switch, extension, group_number) "
                         "VALUES (%s, %s, %s) ON CONFLICT (switch, extension) DO UPDATE "
                         "SET group_number = EXCLUDED.group_number, changed_at = now()",
                         (self.switch, extension, group_number))
        self._run(run)

    def log(self, action: str, channel_uuid=None, other_uuid=None, number=None, **details) -> None:
        details = {k: v for k, v in details.items() if v is not None}

        def run(conn):
            conn.execute("INSERT INTO call_log (feature, switch, action, channel_uuid, other_uuid, "
                         "orbit, details) VALUES ('pickup', %s, %s, %s, %s, %s, %s)",
                         (self.switch, action, channel_uuid, other_uuid, number,
                          json.dumps(details, default=str)))
        self._run(run)

    def call_log(self) -> list[dict]:
        def run(conn):
            cur = conn.execute("SELECT action, channel_uuid, other_uuid, orbit AS number, details "
                               "FROM call_log WHERE feature = 'pickup' AND switch = %s ORDER BY id",
                               (self.switch,))
            names = [c.name for c in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
        return self._run(run)
