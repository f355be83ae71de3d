"""API tokens: 32 random bytes shown once, stored as their SHA-256 with the user they act for, the
admin flag, expiry and revocation (table api_tokens, migration 0005). A token is random, not a
password, so a plain hash is as strong as the token; the lookup is by hash and the final check a
constant-time comparison. Nothing here logs or returns a token except `create`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


from ..db.connect import Pool
from ..errors import FscontrolError
from .errors import DatabaseUnavailable, Unauthorized

log = logging.getLogger("fscontrol.api")

PREFIX = "fsc_"
_DURATION = re.compile(r"([0-9]{1,6})([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_EXPIRES_DAYS = 36500   # 100 years
LAST_USED_EVERY = 60.0   # seconds: last_used_at is written at most this often per token


class TokenError(FscontrolError):
    """A token command that cannot be done (unknown id, bad duration)."""

    id = "token-error"


def parse_duration(text: str) -> timedelta:
    """"30d", "12h", "90m", "3600s", "2w" -> a timedelta (at least a second)."""
    m = _DURATION.fullmatch(text.strip())
    if not m or int(m.group(1)) == 0:
        raise TokenError(f'expires: "{text}" is not a duration like 30d, 12h, 90m, 2w')
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds > MAX_EXPIRES_DAYS * 86400:   # 999999w would be past the year 9999
        raise TokenError(f'expires: "{text}" is too long; at most {MAX_EXPIRES_DAYS}d (or no '
                         f'--expires: a token that does not expire)')
    return timedelta(seconds=seconds)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def new_token() -> str:
    return PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


@dataclass(frozen=True)
class Token:
    """A token's row (never the token itself)."""

    id: int
    user: str | None
    admin: bool
    label: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def status(self, now: datetime | None = None) -> str:
        now = now or datetime.now(timezone.utc)
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_dict(self) -> dict:
        iso = lambda t: t.isoformat() if t else None  # noqa: E731
        return {"id": self.id, "user": self.user, "admin": self.admin, "label": self.label,
                "created_at": iso(self.created_at), "expires_at": iso(self.expires_at),
                "revoked_at": iso(self.revoked_at), "last_used_at": iso(self.last_used_at),
                "status": self.status()}


def _token(row: dict) -> Token:
    return Token(row["id"], row["extension"], row["admin"], row["label"], row["created_at"],
                 row["expires_at"], row["revoked_at"], row["last_used_at"])


COLUMNS = "id, extension, admin, label, created_at, expires_at, revoked_at, last_used_at"


class TokenStore:
    """api_tokens in PostgreSQL, on a few kept-open connections (a request checks its token on
    one: a new connection per request would cost more than the request)."""

    def __init__(self, database, max_connections: int = 8):
        self.pool = Pool(database, "api", DatabaseUnavailable, max_connections)
        #: `fn(conn)` on a pooled connection; DatabaseUnavailable (503) when it cannot be had
        self.run = self.pool.run
        self._last_used: dict[int, float] = {}

    @property
    def database(self):
        return self.pool.database

    def close(self) -> None:
        self.pool.close()

    def ping(self) -> bool:
        try:
            return self.run(lambda c: c.execute("SELECT 1").fetchone() is not None)
        except DatabaseUnavailable:
            return False

    # -- the CLI's side --------------------------------------------------------------------
    def create(self, user: str | None, admin: bool = False, expires: timedelta | None = None,
               label: str = "") -> tuple[str, Token]:
        """A new token: `(the token, shown once; its row)`."""
        token = new_token()
        expires_at = datetime.now(timezone.utc) + expires if expires else None
        row = self.run(lambda c: c.execute(
            f"INSERT INTO api_tokens (token_hash, extension, admin, label, expires_at) "
            f"VALUES (%s, %s, %s, %s, %s) RETURNING {COLUMNS}",
            (hash_token(token), user, admin, label, expires_at)).fetchone())
        return token, _token(row)

    def all(self) -> list[Token]:
        return [_token(r) for r in self.run(lambda c: c.execute(
            f"SELECT {COLUMNS} FROM api_tokens ORDER BY id").fetchall())]

    def revoke(self, token_id: int) -> Token:
        row = self.run(lambda c: c.execute(
            f"UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s "
            f"RETURNING {COLUMNS}", (token_id,)).fetchone())
        if row is None:
            raise TokenError(f"no token with id {token_id} (see `fscontrol token list`)")
        return _token(row)

    # -- the API's side --------------------------------------------------------------------
    def verify(self, token: str) -> Token:
        """The active token row for `token`, else Unauthorized (one message for unknown, expired
        and revoked alike would hide why; the reason is no secret, the token is)."""
        digest = hash_token(token)
        row = self.run(lambda c: c.execute(
            f"SELECT {COLUMNS}, token_hash FROM api_tokens WHERE token_hash = %s",
            (digest,)).fetchone())
        if row is None or not hmac.compare_digest(bytes(row["token_hash"]), digest):
            raise Unauthorized("unknown API token")
        found = _token(row)
        status = found.status()
        if status != "active":
            raise Unauthorized(f"API token {found.id} is {status}")
        self._touch(found.id)
        return found

    def still_active(self, token_id: int) -> bool:
        """Whether token `token_id` is still neither revoked nor expired (an open event stream
        asks now and then: its request was authenticated once, at the start)."""
        row = self.run(lambda c: c.execute(
            "SELECT revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) AS ok "
            "FROM api_tokens WHERE id = %s", (token_id,)).fetchone())
        return bool(row and row["ok"])

    def _touch(self, token_id: int) -> None:
        now = time.monotonic()
        if now - self._last_used.get(token_id, -LAST_USED_EVERY) < LAST_USED_EVERY:
            return
        self._last_used[token_id] = now
        try:
            self.run(lambda c: c.execute(
                "UPDATE api_tokens SET last_used_at = now() WHERE id = %s", (token_id,)))
        except DatabaseUnavailable as e:
            log.warning("api: last use of token %s not recorded: %s", token_id, e)
