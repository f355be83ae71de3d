"""Voicemail's SQL: mailboxes (PIN hash, logon failures across calls, greeting, email, options),
their PIN history, messages and the durable email queue of one switch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import dict_row, tuple_row

from ..db.connect import Pool
from .errors import UnknownBox, VoicemailStoreUnavailable

_MESSAGE_COLUMNS = ("id, box, kind, caller_number, caller_name, received_at, duration_ms, path, "
                    "sha256, state, channel_uuid, email_state, email_reply, email_attempts, "
                    "email_next_at, email_sent_at")


@dataclass(frozen=True)
class Box:
    box: str
    pin_hash: str | None
    pin_must_change: bool
    failures: int
    failures_total: int
    locked_at: datetime | None
    greeting: str | None
    email: str
    keep_local_copy: bool

    @property
    def locked(self) -> bool:
        return self.locked_at is not None


@dataclass(frozen=True)
class Message:
    id: int
    box: str
    kind: str
    caller_number: str
    caller_name: str
    received_at: datetime
    duration_ms: int
    path: str | None
    sha256: str | None
    state: str
    channel_uuid: str | None
    email_state: str
    email_reply: str | None
    email_attempts: int
    email_next_at: datetime | None
    email_sent_at: datetime | None

    def to_dict(self) -> dict:
        """The message as the CLI (--json) and the API show it (no file system path)."""
        return {"id": self.id, "box": self.box, "kind": self.kind,
                "caller": {"number": self.caller_number, "name": self.caller_name},
                "received_at": self.received_at.isoformat(), "duration_ms": self.duration_ms,
                "state": self.state, "audio": self.path is not None, "sha256": self.sha256,
                "email": {"state": self.email_state, "reply": self.email_reply,
                          "attempts": self.email_attempts,
                          "sent_at": self.email_sent_at.isoformat() if self.email_sent_at else None}}


class VoicemailStore:
    def __init__(self, database, switch: str):
        self.switch = switch
        self.pool = Pool(database, "voicemail", VoicemailStoreUnavailable, row_factory=tuple_row)
        self._run = self.pool.run

    @property
    def database(self):
        return self.pool.database

    def close(self) -> None:
        self.pool.close()

    # -- boxes ---------------------------------------------------------------------------------
    def ensure_boxes(self, boxes: dict[str, str], keep_local_copy: bool) -> None:
        """A mailbox for every configured user (`boxes`: extension -> email); the email follows
        the TOML, the other columns are the box's own."""
        def run(conn):
            with conn.transaction():
                for box, email in boxes.items():
                    conn.execute(
                        "INSERT INTO voicemail_boxes (switch, box, email, keep_local_copy) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (switch, box) DO UPDATE "
                        "SET email = EXCLUDED.email", (self.switch, box, email, keep_local_copy))
        self._run(run)

    def box(self, box: str) -> Box | None:
        def run(conn):
            conn.row_factory = dict_row
            row = conn.execute(
                "SELECT box, pin_hash, pin_must_change, failures, failures_total, locked_at, "
                "greeting, email, keep_local_copy FROM voicemail_boxes WHERE switch = %s AND box = %s",
                (self.switch, box)).fetchone()
            return Box(**row) if row else None
        return self._run(run)

    def require(self, box: str) -> Box:
        found = self.box(box)
        if found is None:
            raise UnknownBox(f"no mailbox {box}", "box")
        return found

    def boxes(self) -> list[Box]:
        def run(conn):
            conn.row_factory = dict_row
            rows = conn.execute(
                "SELECT box, pin_hash, pin_must_change, failures, failures_total, locked_at, "
                "greeting, email, keep_local_copy FROM voicemail_boxes WHERE switch = %s "
                "ORDER BY box", (self.switch,)).fetchall()
            return [Box(**r) for r in rows]
        return self._run(run)

    def pin_history(self, box: str, count: int) -> list[str]:
        def run(conn):
            rows = conn.execute("SELECT pin_hash FROM voicemail_pin_history WHERE switch = %s "
                                "AND box = %s ORDER BY id DESC LIMIT %s",
                                (self.switch, box, count)).fetchall()
            return [r[0] for r in rows]
        return self._run(run) if count else []

    def set_pin(self, box: str, pin_hash: str, history: int, must_change: bool = False) -> None:
        """The new PIN hash; the failure count starts again; the box is unlocked; the hash goes
        into the history, which keeps `history` entries."""
        def run(conn):
            with conn.transaction():
                cur = conn.execute("UPDATE voicemail_boxes SET pin_hash = %s, pin_must_change = %s, "
                                   "failures = 0, locked_at = NULL WHERE switch = %s AND box = %s",
                                   (pin_hash, must_change, self.switch, box))
                if cur.rowcount == 0:
                    raise UnknownBox(f"no mailbox {box}", "box")
                conn.execute("INSERT INTO voicemail_pin_history (switch, box, pin_hash) "
                             "VALUES (%s, %s, %s)", (self.switch, box, pin_hash))
                conn.execute("DELETE FROM voicemail_pin_history WHERE switch = %s AND box = %s "
                             "AND id NOT IN (SELECT id FROM voicemail_pin_history WHERE switch = %s "
                             "AND box = %s ORDER BY id DESC LIMIT %s)",
                             (self.switch, box, self.switch, box, max(1, history)))
        self._run(run)

    def logon_failed(self, box: str, lock_after: int) -> Box:
        """One more failed logon (atomic, across calls and controllers); locks at `lock_after`."""
        def run(conn):
            conn.execute("UPDATE voicemail_boxes SET failures = failures + 1, "
                         "failures_total = failures_total + 1, "
                         "locked_at = CASE WHEN failures + 1 >= %s THEN coalesce(locked_at, now()) "
                         "ELSE locked_at END WHERE switch = %s AND box = %s",
                         (lock_after, self.switch, box))
        self._run(run)
        return self.require(box)

    def set_failures(self, box: str, failures: int) -> None:
        self._run(lambda conn: conn.execute(
            "UPDATE voicemail_boxes SET failures = %s WHERE switch = %s AND box = %s",
            (failures, self.switch, box)))

    def logon_ok(self, box: str) -> None:
        self._run(lambda conn: conn.execute(
            "UPDATE voicemail_boxes SET failures = 0 WHERE switch = %s AND box = %s",
            (self.switch, box)))

    def unlock(self, box: str) -> None:
        def run(conn):
            cur = conn.execute("UPDATE voicemail_boxes SET locked_at = NULL, failures = 0 "
                               "WHERE switch = %s AND box = %s", (self.switch, box))
            if cur.rowcount == 0:
                raise UnknownBox(f"no mailbox {box}", "box")
        self._run(run)

    def set_greeting(self, box: str, path: str | None) -> None:
        self._run(lambda conn: conn.execute(
            "UPDATE voicemail_boxes SET greeting = %s WHERE switch = %s AND box = %s",
            (path, self.switch, box)))

    def set_keep_local_copy(self, box: str, keep: bool) -> None:
        def run(conn):
            cur = conn.execute("UPDATE voicemail_boxes SET keep_local_copy = %s "
                               "WHERE switch = %s AND box = %s", (keep, self.switch, box))
            if cur.rowcount == 0:
                raise UnknownBox(f"no mailbox {box}", "box")
        self._run(run)

    # -- messages ------------------------------------------------------------------------------
    def add_message(self, box: str, kind: str, caller_number: str, caller_name: str,
                    duration_ms: int, path: str | None, sha256: str | None,
                    channel_uuid: str | None, email_queued: bool) -> Message:
        def run(conn):
            conn.row_factory = dict_row
            row = conn.execute(
                "INSERT INTO voicemail_messages (switch, box, kind, caller_number, caller_name, "
                "duration_ms, path, sha256, channel_uuid, email_state, email_next_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, CASE WHEN %s THEN now() END) "
                f"RETURNING {_MESSAGE_COLUMNS}",
                (self.switch, box, kind, caller_number, caller_name, duration_ms, path, sha256,
                 channel_uuid, "queued" if email_queued else "none", email_queued)).fetchone()
            return Message(**row)
        return self._run(run)

    def message(self, message_id: int) -> Message | None:
        def run(conn):
            conn.row_factory = dict_row
            row = conn.execute(f"SELECT {_MESSAGE_COLUMNS} FROM voicemail_messages "
                               "WHERE switch = %s AND id = %s", (self.switch, message_id)).fetchone()
            return Message(**row) if row else None
        return self._run(run)

    def messages(self, box: str | None = None, states=("new", "saved"),
                 kinds=("message", "missed")) -> list[Message]:
        """Oldest first; `box` None: every box."""
        def run(conn):
            conn.row_factory = dict_row
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM voicemail_messages WHERE switch = %s "
                "AND (%s::text IS NULL OR box = %s) AND state = ANY(%s) AND kind = ANY(%s) "
                "ORDER BY received_at, id",
                (self.switch, box, box, list(states), list(kinds))).fetchall()
            return [Message(**r) for r in rows]
        return self._run(run)

    def set_state(self, message_id: int, state: str) -> bool:
        def run(conn):
            cur = conn.execute("UPDATE voicemail_messages SET state = %s, changed_at = now() "
                               "WHERE switch = %s AND id = %s AND state <> %s",
                               (state, self.switch, message_id, state))
            return cur.rowcount > 0
        return self._run(run)

    def counts(self, box: str) -> tuple[int, int]:
        """(new, saved) audio messages of `box`: what MWI shows."""
        def run(conn):
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE state = 'new'), count(*) FILTER (WHERE state = 'saved') "
                "FROM voicemail_messages WHERE switch = %s AND box = %s AND kind = 'message'",
                (self.switch, box)).fetchone()
            return int(row[0]), int(row[1])
        return self._run(run)

    def remove(self, message_id: int) -> Message | None:
        """The row deleted for good (its file is the caller's to remove); None if there was none."""
        def run(conn):
            conn.row_factory = dict_row
            row = conn.execute(f"DELETE FROM voicemail_messages WHERE switch = %s AND id = %s "
                               f"RETURNING {_MESSAGE_COLUMNS}", (self.switch, message_id)).fetchone()
            return Message(**row) if row else None
        return self._run(run)

    # -- the email queue -----------------------------------------------------------------------
    def claim_due(self, limit: int = 10) -> list[Message]:
        """Queued deliveries due now, pushed a minute ahead so a second controller (or a crash
        mid-send) does not send them twice at once; the sender sets the real outcome."""
        def run(conn):
            conn.row_factory = dict_row
            rows = conn.execute(
                "UPDATE voicemail_messages SET email_next_at = now() + interval '60 seconds' "
                "WHERE id IN (SELECT id FROM voicemail_messages WHERE switch = %s AND "
                "email_state = 'queued' AND email_next_at <= now() ORDER BY email_next_at "
                "LIMIT %s FOR UPDATE SKIP LOCKED) "
                f"RETURNING {_MESSAGE_COLUMNS}", (self.switch, limit)).fetchall()
            return [Message(**r) for r in rows]
        return self._run(run)

    def next_due(self) -> datetime | None:
        def run(conn):
            return conn.execute("SELECT min(email_next_at) FROM voicemail_messages WHERE switch = %s "
                                "AND email_state = 'queued'", (self.switch,)).fetchone()[0]
        return self._run(run)

    def email_sent(self, message_id: int, reply: str, drop_path: bool) -> None:
        self._run(lambda conn: conn.execute(
            "UPDATE voicemail_messages SET email_state = 'sent', email_reply = %s, "
            "email_attempts = email_attempts + 1, email_sent_at = now(), email_next_at = NULL, "
            "path = CASE WHEN %s THEN NULL ELSE path END WHERE switch = %s AND id = %s",
            (reply, drop_path, self.switch, message_id)))

    def email_retry(self, message_id: int, reply: str, delay: float) -> None:
        self._run(lambda conn: conn.execute(
            "UPDATE voicemail_messages SET email_reply = %s, email_attempts = email_attempts + 1, "
            "email_next_at = now() + make_interval(secs => %s) WHERE switch = %s AND id = %s",
            (reply, delay, self.switch, message_id)))

    def email_failed(self, message_id: int, reply: str) -> None:
        self._run(lambda conn: conn.execute(
            "UPDATE voicemail_messages SET email_state = 'failed', email_reply = %s, "
            "email_attempts = email_attempts + 1, email_next_at = NULL "
            "WHERE switch = %s AND id = %s", (reply, self.switch, message_id)))
