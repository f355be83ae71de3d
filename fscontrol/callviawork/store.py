"""Call Via Work's SQL: its call_log rows (feature `call_via_work`), one for each leg created and
each state change, with the user, the destination and the call id in `details`, so a user's
history includes the calls placed this way; and reading them back."""

from __future__ import annotations

import json
import logging
import time

import gevent
import psycopg

from .. import metrics
from ..db.connect import error_reason
from ..errors import DatabaseUnavailable

log = logging.getLogger("fscontrol.callviawork")
FEATURE = "call_via_work"


class CallViaWorkStore:
    def __init__(self, database, switch: str):
        self.database = database
        self.switch = switch
        self.closed = False
        self._writing = 0

    def close(self, timeout: float = 2.0) -> None:
        """No more rows; wait (up to `timeout`) for those being written: a statement cut off
        by a killed greenlet would still run on the server, after its owner has stopped."""
        self.closed = True
        deadline = time.monotonic() + timeout
        while self._writing and time.monotonic() < deadline:
            gevent.sleep(0.01)

    def log(self, action: str, channel_uuid=None, other_uuid=None, **details) -> bool:
        """One call_log row; False (logged, counted in fscontrol_database_errors) when the
        database does not answer: the call goes on."""
        details = {k: v for k, v in details.items() if v is not None}
        if self.closed:
            return False
        self._writing += 1
        try:
            with self.database.connection() as conn:
                conn.execute("INSERT INTO call_log (feature, switch, action, channel_uuid, "
                             "other_uuid, details) VALUES (%s, %s, %s, %s, %s, %s)",
                             (FEATURE, self.switch, action, channel_uuid, other_uuid,
                              json.dumps(details, default=str)))
            return True
        except (DatabaseUnavailable, psycopg.Error) as e:
            reason = (error_reason(e, self.database.url) if isinstance(e, psycopg.Error)
                      else str(e))
            log.warning("call via work: call_log %s of %s not written: %s", action, channel_uuid,
                        reason)
            metrics.database_errors.labels(feature=FEATURE).inc()
            return False
        finally:
            self._writing -= 1

    def history(self, user: str | None = None, call_id: str | None = None) -> list[dict]:
        """This switch's call via work rows, oldest first: of one user, or of one call."""
        where, params = ["feature = %s", "switch = %s"], [FEATURE, self.switch]
        if user is not None:
            where.append("details->>'user' = %s")
            params.append(user)
        if call_id is not None:
            where.append("details->>'call_id' = %s")
            params.append(call_id)
        with self.database.connection() as conn:
            cur = conn.execute("SELECT id, at, action, channel_uuid, other_uuid, details FROM "
                               f"call_log WHERE {' AND '.join(where)} ORDER BY id", params)
            names = [c.name for c in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
