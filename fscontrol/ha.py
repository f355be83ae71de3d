"""Active/standby between the controllers of one switch: exactly one acts, the others wait.

The active controller holds a PostgreSQL session-level advisory lock, keyed by the switch's
identity (and the schema), on a connection of its own. A process that dies (`kill -9`) loses its
connection and the server drops the lock at once; there is no lease to expire and no clock to
compare between hosts. The holder confirms the lock every `step_down_after / 3` seconds and
stops acting (steps down) when it has not confirmed it for `step_down_after` seconds: its
database is gone, or answers too slowly to be trusted.

The server may drop the lock before the old holder notices (its connection is cut cleanly, or
the server ended an idle session), so a controller that wins the lock waits `step_down_after`
plus a margin before it acts: by then a previous holder has confirmed nothing for longer than
its own deadline and has stopped. A standby can only take over when the server ends a silent
holder's session: the lock session sets `idle_session_timeout` (PostgreSQL 14+) to
`step_down_after` (the holder confirms three times as often) and short TCP keepalives, so a
holder that is partitioned away or frozen loses the lock after about `step_down_after` seconds,
never before it has itself stopped acting: its deadline runs from when it sent its last
confirmation, the server's idle time from when it answered.
"""

from __future__ import annotations

import hashlib
import logging
import time

import gevent
import gevent.event
import psycopg
from psycopg import errors as pg_errors

from .db.connect import error_reason
from .errors import DatabaseUnavailable
from .metrics import database_errors

log = logging.getLogger(__name__)

HANDOVER_MARGIN = 1.0  # seconds beyond step_down_after a new holder waits before acting
APP_PREFIX = "fscontrol "  # application_name of the lock session: "fscontrol <controller id>"


def lock_key(schema: str, switch: str) -> int:
    """The advisory lock's bigint key: stable across processes and versions (hashtext is not
    documented to be stable, so it is not used), one per schema and switch identity."""
    digest = hashlib.sha256(f"fscontrol-active\0{schema}\0{switch}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ActiveLock:
    """`acquire(stop)` blocks while another controller is active for `switch` (logging that this
    one is standby) and returns True once this one may act; `lost` is set when it must stop
    acting. `release()` gives the lock up (closing its connection)."""

    def __init__(self, database, switch: str, controller_id: str, step_down_after: float = 3.0,
                 poll: float = 1.0):
        self.database = database
        self.switch = switch
        self.controller_id = controller_id
        self.step_down_after = float(step_down_after)
        self.check_interval = self.step_down_after / 3
        self.handover = self.step_down_after + HANDOVER_MARGIN
        self.poll = poll
        self.lost = gevent.event.Event()
        self.loss_reason = ""
        self._conn: psycopg.Connection | None = None
        self._key: int | None = None
        self._confirmed = 0.0  # monotonic time the last successful confirmation was sent
        self._keeper: gevent.Greenlet | None = None
        self._reported = ""

    # -- standby ---------------------------------------------------------------------------
    def acquire(self, stop: gevent.event.Event) -> bool:
        """Waits until this controller holds the lock and the handover wait is over (True), or
        until `stop` is set (False)."""
        while not stop.is_set():
            if not self._win(stop):
                return False
            log.info("switch %s: this controller won the active lock; acting in %.1f s (the time "
                     "a previous active controller needs to notice it lost the lock and stop)",
                     self.switch, self.handover)
            gevent.wait([stop, self.lost], timeout=self.handover, count=1)
            if stop.is_set():
                return False
            if not self.lost.is_set():
                log.info("switch %s: active (controller %s)", self.switch, self.controller_id)
                return True
            log.warning("switch %s: lost the lock before acting (%s); standby again",
                        self.switch, self.loss_reason)
        return False

    def _win(self, stop) -> bool:
        """Tries for the lock until it is held (True) or `stop` is set (False)."""
        self.lost.clear()
        self.loss_reason = ""
        while not stop.is_set():
            sent = time.monotonic()
            try:
                with gevent.Timeout(self.poll + self.database.connect_timeout + 1,
                                    DatabaseUnavailable("the database did not answer in time")):
                    if self._conn is None:
                        self._open()
                    won = self._try_lock()
            except (DatabaseUnavailable, psycopg.Error) as e:
                database_errors.labels("ha").inc()
                self._close()
                reason = e if isinstance(e, DatabaseUnavailable) else error_reason(e, self.database.url)
                self._report(logging.WARNING, f"standby for switch {self.switch}: cannot reach "
                                              f"the database ({reason}); retrying")
                stop.wait(self.poll)
                continue
            if won:
                self._reported = ""
                self._confirmed = sent
                self._keeper = gevent.spawn(self._keep)
                return True
            self._report(logging.INFO, f"standby: switch {self.switch} is controlled by "
                                       f"{self._holder()}; waiting to take over")
        return False

    def _open(self) -> None:
        step = self.step_down_after
        conn = self.database.connect(application_name=(APP_PREFIX + self.controller_id)[:63],
                                     keepalives=1, keepalives_idle=1, keepalives_interval=1,
                                     keepalives_count=3, tcp_user_timeout=int(step * 1000))
        try:
            # what the server needs to end the session of a holder that went silent (partitioned,
            # frozen) and so free the lock; each is best effort (older servers lack some)
            for setting, value in (("idle_session_timeout", f"{int(step * 1000)}ms"),
                                   ("tcp_keepalives_idle", "1"), ("tcp_keepalives_interval", "1"),
                                   ("tcp_keepalives_count", "3"),
                                   ("tcp_user_timeout", str(int(step * 1000))),
                                   ("lock_timeout", f"{int(self.poll * 1000)}ms")):
                try:
                    conn.execute(f"SET {setting} = '{value}'")
                except psycopg.OperationalError:
                    raise
                except psycopg.Error as e:  # unknown to an older server, or not allowed
                    log.debug("lock session: SET %s refused: %s", setting, e)
            schema = conn.execute("SELECT current_schema()").fetchone()[0] or ""
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._key = lock_key(schema, self.switch)

    def _try_lock(self) -> bool:
        """pg_advisory_lock waits for the lock up to lock_timeout (`poll`), so a lock the holder
        drops is taken at once, not at the next poll."""
        try:
            self._conn.execute("SELECT pg_advisory_lock(%s)", (self._key,))
            return True
        except pg_errors.LockNotAvailable:
            return False

    def _holder(self) -> str:
        """Who holds the lock, as far as this session may see: the holder's controller id."""
        try:
            with gevent.Timeout(self.poll, False):
                row = self._conn.execute(
                    "SELECT a.application_name, host(a.client_addr) FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                    "AND l.granted AND l.objsubid = 1 AND l.classid = %s AND l.objid = %s "
                    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                    ((self._key >> 32) & 0xFFFFFFFF, self._key & 0xFFFFFFFF)).fetchone()
                if row and row[0].startswith(APP_PREFIX):
                    return f"controller {row[0][len(APP_PREFIX):]}" + (f" ({row[1]})" if row[1] else "")
        except psycopg.Error:
            pass
        return "another controller"

    def _report(self, level: int, message: str) -> None:
        """A standby's state, logged when it changes (not every poll)."""
        if message != self._reported:
            self._reported = message
            log.log(level, "%s", message)

    # -- active ----------------------------------------------------------------------------
    def _keep(self) -> None:
        """Confirms the lock every check_interval; sets `lost` once `step_down_after` seconds
        pass without a confirmation, a query fails or the lock is gone."""
        query = ("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                 "AND pid = pg_backend_pid() AND objsubid = 1 AND classid = %s AND objid = %s)")
        params = ((self._key >> 32) & 0xFFFFFFFF, self._key & 0xFFFFFFFF)
        reason = ""
        while not reason:
            deadline = self._confirmed + self.step_down_after
            pause = min(self.check_interval, deadline - time.monotonic())
            if pause > 0:
                gevent.sleep(pause)
            left = deadline - time.monotonic()
            if left <= 0:
                reason = f"no confirmation from the database for {self.step_down_after:g} s"
                break
            sent = time.monotonic()
            try:
                with gevent.Timeout(left, False):
                    held = self._conn.execute(query, params).fetchone()[0]
                    if held:
                        self._confirmed = sent
                    else:
                        reason = "the database no longer holds the lock for this controller"
            except psycopg.Error as e:
                database_errors.labels("ha").inc()
                reason = f"database connection lost ({error_reason(e, self.database.url)})"
        self._lose(reason)

    def _lose(self, reason: str) -> None:
        self.loss_reason = reason
        log.warning("switch %s: stepping down, this controller stops acting: %s", self.switch, reason)
        self._close()
        self.lost.set()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()  # the session ends: the server drops the lock if it still has it
            except Exception:
                pass

    def release(self) -> None:
        """Stop confirming and give the lock up (call after the controller stopped acting)."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None and keeper is not gevent.getcurrent():
            keeper.kill(block=True, timeout=1)
        self._close()
