"""Schema migrations: numbered SQL files applied once each, in order, under an advisory lock."""

from __future__ import annotations

import logging
import re
from importlib import resources

log = logging.getLogger(__name__)

# pg_advisory_lock(class, key): the class says "fscontrol migrations", the key is the schema,
# so controllers sharing one schema serialise while separate schemas (tests) do not.
LOCK_CLASS = 0x66736374  # "fsct"
MIGRATION_FILE = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


def migrations() -> list[tuple[int, str, str]]:
    """`(version, name, sql)` of every shipped migration, in order."""
    found = []
    for entry in resources.files("fscontrol.db").joinpath("migrations").iterdir():
        m = MIGRATION_FILE.fullmatch(entry.name)
        if m:
            found.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _applied(conn) -> set[int]:
    """Versions recorded in schema_migrations (none when the table does not exist yet)."""
    if not conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def pending(conn) -> list[str]:
    """The shipped migrations this database has not applied yet (all of them on a fresh one)."""
    applied = _applied(conn)
    return [f"{v:04d}_{name}" for v, name, _ in migrations() if v not in applied]


def upgrade(conn) -> list[str]:
    """Applies the migrations not yet recorded; returns the names applied (empty when up to date).

    Safe to run from several controllers at once: the advisory lock makes one wait for the other.
    """
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(current_schema()))", (LOCK_CLASS,))
    try:
        conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                            version integer PRIMARY KEY,
                            name text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now())""")
        applied = _applied(conn)
        done = []
        for version, name, sql in migrations():
            if version in applied:
                continue
            with conn.transaction():
                conn.execute(sql)
                conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                             (version, name))
            log.info("applied migration %04d_%s", version, name)
            done.append(f"{version:04d}_{name}")
        return done
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", (LOCK_CLASS,))
