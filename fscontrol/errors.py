"""Errors the operator sees. Each is a class with a stable id; the CLI turns them into one line and exit 2."""

from __future__ import annotations


class FscontrolError(Exception):
    """Base of every error fscontrol reports to a user: `id` is stable, `str()` is the one-line reason."""

    id = "error"
    exit_code = 2


class ProblemsError(FscontrolError):
    """An error that found several problems: `problems` holds every `(key path, message)` pair
    (so `fscontrol check` can print them all); `str()` summarises the first three."""

    def __init__(self, problems: list[tuple[str, str]], source: str = ""):
        self.problems = list(problems)
        self.source = source
        first = "; ".join(f"{p}: {m}" if p else m for p, m in self.problems[:3])
        more = f" (+{len(self.problems) - 3} more)" if len(self.problems) > 3 else ""
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{first}{more}")

    def lines(self) -> list[str]:
        return [f"{p}: {m}" if p else m for p, m in self.problems]


class ConfigError(ProblemsError):
    """The site configuration is missing, unreadable, malformed or invalid."""

    id = "invalid-config"


class RenderError(ProblemsError):
    """The rendered dialplan or switch configuration failed validation, or a config value cannot be
    rendered safely; a problem's path is a key path or a file/extension."""

    id = "invalid-render"


class DeployError(FscontrolError):
    """`fscontrol deploy` could not install the files; the live files are untouched."""

    id = "deploy-failed"


class DatabaseUnavailable(FscontrolError):
    """No database connection could be made (server down, wrong URL, embedded server failed)."""

    id = "database-unavailable"


class NotImplementedYet(FscontrolError):
    """A subcommand whose feature has not landed yet; never fake output."""

    id = "not-implemented"


class SwitchAuthFailed(FscontrolError):
    """FreeSWITCH's event socket rejected the configured password (not retried)."""

    id = "esl-auth-failed"


class RequestError(FscontrolError):
    """A request (HTTP API, CLI) that cannot be done: `id` is the stable code a client matches
    (`destination_not_allowed`), `field` the request field at fault (or None), `kind` what sort
    of failure it is; the HTTP API maps `kind` to a status in one place (fscontrol.api)."""

    id = "request_failed"
    #: invalid (422), unauthorized (401), forbidden (403), not_found (404), conflict (409),
    #: rate_limited (429), unavailable (503: the switch or the database cannot be reached)
    kind = "invalid"

    def __init__(self, message: str, field: str | None = None, **details):
        super().__init__(message)
        self.field = field
        self.details = details

    def to_dict(self) -> dict:
        out = {"error": self.id, "message": str(self)}
        if self.field:
            out["field"] = self.field
        out.update(self.details)
        return out
