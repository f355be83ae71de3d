"""Call Via Work's SQL: its call_log rows (feature `call_via_work`), one for each leg created and
each state change, with the user, the destination and the call id in `details`, so a user's
history includes the calls placed this way; and reading them back."""

from __future__ import annotations

import json
import logging

import gevent
import gevent.queue
import psycopg

from .. import metrics
from ..db.connect import error_reason
from ..errors import DatabaseUnavailable

log = logging.getLogger("fscontrol.callviawork")
FEATURE = "call_via_work"


class CallViaWorkStore:
    """Rows are written by one writer greenlet, in order, on one kept connection: a call's flow
    never waits for the database (its rows are a record, not its state), and a burst of calls
    does not open a connection per row."""

    QUEUE = 10_000   # rows waiting while the database is slow or away; more are dropped

    def __init__(self, database, switch: str):
        self.database = database
        self.switch = switch
        self.closed = False
        self._queue: gevent.queue.Queue = gevent.queue.Queue(self.QUEUE)
        self._writer: gevent.Greenlet | None = None
        self._conn = None

    def close(self, timeout: float = 2.0) -> None:
        """No more rows; the queued ones are written (for up to `timeout`): a statement cut off
        by a killed greenlet would still run on the server after its owner stopped."""
        if self.closed:
            return
        self.closed = True
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join(timeout)
            self._writer.kill(block=False)
        self._drop_connection()

    def log(self, action: str, channel_uuid=None, other_uuid=None, **details) -> bool:
        """Queue one call_log row; False when it cannot be (stopped, or the queue is full)."""
        if self.closed:
            return False
        details = {k: v for k, v in details.items() if v is not None}
        try:
            self._queue.put_nowait((action, channel_uuid, other_uuid, details))
        except gevent.queue.Full:
            log.warning("call via work: call_log %s of %s dropped: %d rows wait for the "
                        "database", action, channel_uuid, self.QUEUE)
            metrics.database_errors.labels(feature=FEATURE).inc()
            return False
        if self._writer is None or self._writer.dead:
            self._writer = gevent.spawn(self._write_rows)
        return True

    def _write_rows(self) -> None:
        while True:
            row = self._queue.get()
            if row is None:
                return
            self._write(*row)

    def _write(self, action, channel_uuid, other_uuid, details) -> None:
        """One row, on the kept connection (a new one when it broke); failures are logged and
        counted in fscontrol_database_errors, never raised: the call goes on."""
        try:
            if self._conn is None or self._conn.closed or self._conn.broken:
                self._conn = self.database.connect()
            self._conn.execute("INSERT INTO call_log (feature, switch, action, channel_uuid, "
                               "other_uuid, details) VALUES (%s, %s, %s, %s, %s, %s)",
                               (FEATURE, self.switch, action, channel_uuid, other_uuid,
                                json.dumps(details, default=str)))
        except (DatabaseUnavailable, psycopg.Error) as e:
            reason = (error_reason(e, self.database.url) if isinstance(e, psycopg.Error)
                      else str(e))
            log.warning("call via work: call_log %s of %s not written: %s", action, channel_uuid,
                        reason)
            metrics.database_errors.labels(feature=FEATURE).inc()
            self._drop_connection()

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def history(self, user: str | None = None, call_id: str | None = None) -> list[dict]:
        """This switch's call via work rows, oldest first: of one user's calls (those they
        placed, and those placed to their extension), or of one call."""
        where, params = ["feature = %s", "switch = %s"], [FEATURE, self.switch]
        if user is not None:
            where.append("(details->>'user' = %s OR details->>'destination' = %s)")
            params += [user, user]
        if call_id is not None:
            where.append("details->>'call_id' = %s")
            params.append(call_id)
        with self.database.connection() as conn:
            cur = conn.execute("SELECT id, at, action, channel_uuid, other_uuid, details FROM "
                               f"call_log WHERE {' AND '.join(where)} ORDER BY id", params)
            names = [c.name for c in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
