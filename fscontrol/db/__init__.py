"""PostgreSQL store: where state lives. `open_database(config)` picks the server and applies migrations."""

from .connect import Database, describe_url, open_database
from .migrate import upgrade

__all__ = ["Database", "describe_url", "open_database", "upgrade"]
