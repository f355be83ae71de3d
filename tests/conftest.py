"""Test-wide setup: gevent patching first (psycopg needs it) and the test database."""

from gevent import monkey

monkey.patch_all()

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

from waiting import until  # noqa: E402,F401  (tests should import it from waiting)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """DATABASE_URL when it answers, otherwise an embedded PostgreSQL private to this test run."""
    from fscontrol.db.connect import Database, embedded_url
    from fscontrol.errors import DatabaseUnavailable

    url = os.environ.get("DATABASE_URL")
    if url:
        try:
            Database(url, connect_timeout=3).connect().close()
            return url
        except DatabaseUnavailable:
            pass
    return embedded_url(tmp_path_factory.mktemp("pg") / "data", cleanup="delete")


@pytest.fixture
def database(database_url):
    """A Database on a fresh schema of its own, dropped afterwards."""
    from fscontrol.db import Database

    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = Database(database_url)
    with admin.connection() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield Database(database_url, schema=schema)
    finally:
        with admin.connection() as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
