"""Exceptions raised by the ESL client core.

Every error the layer raises derives from :class:`EslError`, so callers can catch the
whole family; the specific classes say *what* went wrong (auth, timeout, loss, bad input).
"""


class EslError(Exception):
    """Base class of every error raised by :mod:`fscontrol.esl`."""


class ConnectionLost(EslError, ConnectionError):
    """The event socket is (or went) down; pending commands fail with this at once."""


class AuthenticationError(EslError):
    """FreeSWITCH rejected the event-socket password (never retried, never logged)."""


class CommandTimeout(EslError, TimeoutError):
    """A command (or the wait for its confirming event) did not complete in time."""


class InvalidArgument(EslError, ValueError):
    """An argument would break a command line or dial string; names field and character."""


class ChannelGone(EslError):
    """The channel a waiter was waiting on was destroyed (or vanished across a reconnect)."""

    def __init__(self, uuid, cause=None):
        self.uuid = uuid
        self.cause = cause
        super().__init__(f"channel {uuid} is gone" + (f" ({cause})" if cause else ""))


class CommandError(EslError):
    """FreeSWITCH answered ``-ERR ...``; ``cause`` is the text after ``-ERR``.

    For originate failures the cause is the hangup cause, e.g. ``USER_BUSY``.
    """

    def __init__(self, cause, command=None, text=None):
        self.cause = cause
        self.command = command
        self.text = text if text is not None else f"-ERR {cause}"
        super().__init__(f"{command}: {cause}" if command else cause)
