"""The PostgreSQL store: migrations, concurrency with gevent, errors an operator sees."""

import gevent
import psycopg
import pytest

from waiting import until
from fscontrol.db import Database, describe_url, upgrade
from fscontrol.db.migrate import migrations
from fscontrol.errors import DatabaseUnavailable


def test_upgrade_applies_every_migration_once(database):
    with database.connection() as conn:
        first = upgrade(conn)
        second = upgrade(conn)
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
        conn.execute("SELECT count(*) FROM call_log")  # the table exists in our schema
    assert first == [f"{v:04d}_{n}" for v, n, _ in migrations()]
    assert second == []
    assert [r[0] for r in rows] == [v for v, _, _ in migrations()]


def test_two_controllers_upgrading_at_once_apply_each_migration_once(database):
    conns = [database.connect(), database.connect()]
    try:
        jobs = [gevent.spawn(upgrade, c) for c in conns]
        gevent.joinall(jobs, timeout=30, raise_error=True)
        applied = [j.value for j in jobs]
        count = conns[0].execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
    finally:
        for c in conns:
            c.close()
    assert sorted(len(a) for a in applied) == [0, len(migrations())]
    assert count == len(migrations())


def test_slow_query_does_not_block_other_greenlets(database):
    ticks = []

    def ticker():
        while True:
            ticks.append(1)
            gevent.sleep(0.01)

    def slow():
        with database.connection() as conn:
            conn.execute("SELECT pg_sleep(3)")

    t = gevent.spawn(ticker)
    query = gevent.spawn(slow)
    try:
        until(lambda: len(ticks) >= 10, timeout=2.5,
              message="the ticker starved while a query ran: psycopg is blocking the gevent hub")
        assert not query.ready(), "pg_sleep(3) finished too early for this test to mean anything"
    finally:
        query.join(timeout=5)
        t.kill()
    assert query.successful()


def test_unreachable_database_is_one_clear_line_without_password():
    db = Database("postgresql://fsuser:s3cret-pw@127.0.0.1:1/fscontrol", connect_timeout=2)
    with pytest.raises(DatabaseUnavailable) as err:
        db.connect()
    message = str(err.value)
    assert message.startswith("database 127.0.0.1:1/fscontrol unreachable: ")
    assert "s3cret-pw" not in message and "\n" not in message


def test_error_reason_is_the_cause_on_one_line_without_password():
    from fscontrol.db.connect import error_reason

    url = "postgresql://fsuser:s3cret-pw@db.example/fscontrol"
    e = psycopg.OperationalError('connection failed: connection to server at "10.0.0.1", port 5432 '
                                 'failed: FATAL:  password s3cret-pw rejected\n')
    assert error_reason(e, url) == "FATAL:  password *** rejected"
    refused = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused'
        '\n\tIs the server running on that host and accepting TCP/IP connections?')
    assert error_reason(refused, url) == "Connection refused"


def test_unreachable_database_names_the_cause():
    with pytest.raises(DatabaseUnavailable) as err:
        Database("postgresql://127.0.0.1:1/fscontrol", connect_timeout=2).connect()
    assert str(err.value) == "database 127.0.0.1:1/fscontrol unreachable: Connection refused"


def test_malformed_url_is_refused_without_echoing_it():
    url = "postgresql://bob:Hunter2%zz@127.0.0.1:5432/test"
    with pytest.raises(DatabaseUnavailable) as err:
        Database(url).connect()
    assert "Hunter2" not in str(err.value) and "not a valid PostgreSQL URL" in str(err.value)


@pytest.mark.parametrize("url", [
    "postgresql://u:S3cr3tPW@x@127.0.0.1:5999/db",   # an unencoded @ in the password
    "postgresql://u:S3cr/tPW@127.0.0.1:5999/db",     # an unencoded /
    "host=S3cr3tPW@127.0.0.1 dbname=db",
])
def test_a_host_parsed_from_a_malformed_url_is_never_echoed(url):
    """A misparsed URL puts pieces of the password where the host (or database) should be: no
    message may quote them, and no connection is tried with them."""
    assert describe_url(url) == "(malformed database URL)"
    with pytest.raises(DatabaseUnavailable) as err:
        Database(url, connect_timeout=1).connect()
    assert "not a valid PostgreSQL URL" in str(err.value)
    for piece in ("S3cr", "tPW", "x@", "127.0.0.1"):
        assert piece not in str(err.value)


def test_error_reason_of_an_empty_message_is_the_error_class():
    from fscontrol.db.connect import error_reason

    assert error_reason(psycopg.OperationalError(""), "postgresql:///x") == "OperationalError"
    assert error_reason(psycopg.OperationalError("  \n "), "postgresql:///x") == "OperationalError"


def test_describe_url_hides_credentials():
    assert describe_url("postgresql://u:pw@db.example:6543/prod?sslmode=require") == "db.example:6543/prod"
    assert "pw" not in describe_url("host=h password=pw dbname=d")


def test_schema_name_is_checked():
    with pytest.raises(ValueError, match="schema"):
        Database("postgresql:///x", schema="x; DROP TABLE y")


def test_embedded_postgres_starts_without_any_server(tmp_path):
    from fscontrol.db.connect import embedded_url

    url = embedded_url(tmp_path / "pgdata", cleanup="delete")
    with Database(url).connection() as conn:
        assert upgrade(conn)
        assert conn.execute("SELECT count(*) FROM call_log").fetchone()[0] == 0
