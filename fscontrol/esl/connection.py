"""One event-socket session: a ``greenswitch.esl.InboundESL`` subclass with timeouts and loss detection.

Overrides connect/auth (bounded by a timeout, wrong password -> :class:`AuthenticationError`),
``send`` (per-command timeout; fails at once with :class:`ConnectionLost` when the socket dies),
the reader (a real byte-stream parser instead of ``readline`` + ``unquote``-everything) and
``handle_event``. A session is single-use: the client makes a new one per (re)connect.
"""

from __future__ import annotations

import logging
from collections import deque
from time import monotonic
from typing import Callable, Optional

import gevent
import gevent.lock
import gevent.socket as gsocket
from gevent.event import AsyncResult
from greenswitch.esl import InboundESL

from .errors import AuthenticationError, CommandTimeout, ConnectionLost, InvalidArgument
from .events import EslParser

log = logging.getLogger("fscontrol.esl.connection")

_RECV_SIZE = 256 * 1024


class _Pending:
    __slots__ = ("result", "on_reply", "verb")

    def __init__(self, verb: str, on_reply=None):
        self.result = AsyncResult()
        self.on_reply = on_reply
        self.verb = verb


def _verb(data: str) -> str:
    """What to call a command in messages: never its arguments (``auth`` has the password)."""
    first_line = data.split("\n", 1)[0]
    parts = first_line.split(" ", 2)
    if parts[0] in ("api", "bgapi") and len(parts) > 1:
        return f"{parts[0]} {parts[1]}"
    return parts[0]


class EslConnection(InboundESL):
    """A single authenticated ESL session.

    ``on_event(body: bytes)`` gets the body of every ``text/event-plain`` message, inline in the
    reader greenlet (it must not block). ``on_lost(conn, reason)`` is called once when the
    session ends for any reason (EOF, socket error, disconnect notice, missed heartbeats, close).
    """

    def __init__(self, host: str, port: int, password: str, *, connect_timeout: float = 5.0,
                 command_timeout: float = 10.0,
                 on_event: Optional[Callable[[bytes], None]] = None,
                 on_lost: Optional[Callable[["EslConnection", str], None]] = None):
        super().__init__(host, port, password, timeout=connect_timeout)
        self.command_timeout = command_timeout
        self.address = f"{host}:{port}"
        self._parser = EslParser()
        self._pending: deque = deque()
        self._commands_sent = self._pending  # greenswitch's name for the same FIFO
        self._send_lock = gevent.lock.Semaphore()
        self._on_event = on_event
        self._on_lost = on_lost
        self._closed = False
        self._watchdog = None
        self.lost_reason: Optional[str] = None
        self.last_rx = monotonic()
        self.sock = None
        self.sock_file = None

    # connect / auth -----------------------------------------------------------------------
    def connect(self, timeout: Optional[float] = None):
        """TCP connect, wait for ``auth/request`` and authenticate, all within ``timeout``."""
        timeout = self.timeout if timeout is None else timeout
        deadline = monotonic() + timeout
        try:
            self.sock = gsocket.create_connection((self.host, self.port), timeout=timeout)
        except gsocket.timeout:
            raise ConnectionLost(f"ESL at {self.address}: TCP connect timed out after {timeout}s") from None
        except OSError as exc:
            raise ConnectionLost(f"ESL at {self.address}: {exc.strerror or exc}") from None
        self.sock.settimeout(None)
        try:
            self.sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover
            pass
        self.connected = True
        self.last_rx = monotonic()
        self.start_event_handlers()
        if not self._auth_request_event.wait(max(0.0, deadline - monotonic())):
            self.close("no auth/request")
            raise ConnectionLost(f"ESL at {self.address} sent no auth/request within {timeout}s")
        if self._closed:
            raise ConnectionLost(f"ESL at {self.address}: {self.lost_reason}")
        self.authenticate(max(0.01, deadline - monotonic()))

    def authenticate(self, timeout: Optional[float] = None):
        try:
            reply = self.send(f"auth {self.password}", timeout=timeout)
        except CommandTimeout:
            self.close("no reply to auth")
            raise ConnectionLost(f"ESL at {self.address} did not answer auth within {timeout}s") from None
        if not reply.startswith("+OK"):
            self.close("password rejected")
            raise AuthenticationError(f"ESL at {self.address} rejected the password")

    def start_event_handlers(self):
        # only the reader: events are handled inline (typed + routed to per-channel queues),
        # not by greenswitch's single process_events greenlet
        self._receive_events_greenlet = gevent.spawn(self.receive_events)

    def start_watchdog(self, interval: float, misses: int):
        """Close the session when nothing (not even HEARTBEAT) arrived for interval*misses."""
        if not interval or self._watchdog is not None:
            return
        limit = interval * misses

        def watch():
            while not self._closed:
                gevent.sleep(min(interval, limit) / 2)
                silent = monotonic() - self.last_rx
                if silent > limit and not self._closed:
                    self.close(f"no HEARTBEAT or other data for {silent:.1f}s")

        self._watchdog = gevent.spawn(watch)

    # reading ------------------------------------------------------------------------------
    def receive_events(self):
        sock = self.sock
        feed = self._parser.feed
        handle = self.handle_event
        while not self._closed:
            try:
                data = sock.recv(_RECV_SIZE)
            except Exception as exc:
                self.close(f"socket error: {exc}")
                return
            if not data:
                self.close("connection closed by peer (EOF)")
                return
            self.last_rx = monotonic()
            try:
                messages = feed(data)
            except Exception as exc:  # corrupt stream: nothing after it can be trusted
                log.exception("ESL at %s: unparsable stream", self.address)
                self.close(f"protocol error: {exc}")
                return
            for msg in messages:
                try:
                    handle(msg)
                except Exception:
                    log.exception("ESL at %s: error handling %s", self.address, msg.content_type)

    def handle_event(self, msg):
        ctype = msg.headers.get("Content-Type")
        if ctype == "text/event-plain":
            if self._on_event is not None:
                self._on_event(msg.body)
        elif ctype == "command/reply" or ctype == "api/response":
            if not self._pending:
                log.warning("ESL at %s: reply with no command waiting (%s)", self.address, ctype)
                return
            entry = self._pending.popleft()
            text = msg.headers.get("Reply-Text", "") if ctype == "command/reply" else msg.text
            if entry.on_reply is not None:
                try:
                    text = entry.on_reply(text)
                except Exception as exc:
                    entry.result.set_exception(exc)
                    return
            entry.result.set(text)
        elif ctype == "auth/request":
            self._auth_request_event.set()
        elif ctype == "text/disconnect-notice":
            if msg.headers.get("Content-Disposition") == "linger":
                self._lingering = True
            else:
                notice = msg.text.strip().replace("\n", " ")
                self.close(f"disconnect notice: {notice}")
        elif ctype == "text/rude-rejection":
            self.close(f"rejected: {msg.text.strip()}")
        # log/data and anything else: ignored

    # writing ------------------------------------------------------------------------------
    def send(self, data: str, timeout: Optional[float] = None, on_reply=None,
             body: Optional[str] = None):
        """Send one command; return its reply text (``Reply-Text`` or the api body).

        ``data`` is the command's header lines (no CR, NUL or empty line); ``body``, if given,
        follows with its byte ``content-length``. ``on_reply(text)`` runs inline in the reader
        at the reply's position in the stream (used to apply a snapshot before later events);
        its return value is the result.
        """
        if not data or "\n\n" in data or data.endswith("\n") or "\r" in data or "\x00" in data:
            raise InvalidArgument("command: contains an empty line, CR or NUL (would split it)")
        if self._closed or self.sock is None:
            raise ConnectionLost(f"ESL at {self.address}: not connected ({self.lost_reason or 'closed'})")
        timeout = self.command_timeout if timeout is None else timeout
        entry = _Pending(_verb(data), on_reply)
        if body is None:
            raw = (data + "\n\n").encode("utf-8")
        else:
            payload = body.encode("utf-8")
            raw = (data + f"\ncontent-length: {len(payload)}\n\n").encode("utf-8") + payload
        # the timeout covers the wait for our turn on the socket too, not only our own send
        if not self._send_lock.acquire(timeout=timeout):
            raise CommandTimeout(f"ESL at {self.address}: could not send {entry.verb!r} within "
                                 f"{timeout}s (socket busy with other commands)")
        try:
            if self._closed:
                raise ConnectionLost(f"ESL at {self.address}: {self.lost_reason}")
            self._pending.append(entry)
            try:
                with gevent.Timeout(timeout, CommandTimeout):
                    self.sock.sendall(raw)
            except CommandTimeout:
                self.close(f"send of {entry.verb!r} blocked for {timeout}s")
                raise ConnectionLost(f"ESL at {self.address}: {self.lost_reason}") from None
            except OSError as exc:
                self.close(f"send failed: {exc}")
                raise ConnectionLost(f"ESL at {self.address}: {self.lost_reason}") from None
        finally:
            self._send_lock.release()
        result = entry.result
        result.wait(timeout)
        if not result.ready():
            # the entry stays queued: its late reply is consumed in order, not misattributed
            raise CommandTimeout(f"ESL at {self.address}: no reply to {entry.verb!r} within {timeout}s")
        return result.get(block=False)

    # closing ------------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, reason: str = "closed by client"):
        """End the session: fail every pending command with ConnectionLost, notify on_lost."""
        if self._closed:
            return
        self._closed = True
        self._run = False
        self.connected = False
        self.lost_reason = reason
        exc = ConnectionLost(f"ESL at {self.address}: {reason}")
        pending = list(self._pending)
        self._pending.clear()
        for entry in pending:
            if not entry.result.ready():
                entry.result.set_exception(exc)
        self._auth_request_event.set()
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:  # pragma: no cover
                pass
        if self._watchdog is not None and self._watchdog is not gevent.getcurrent():
            self._watchdog.kill(block=False)
        if self._on_lost is not None:
            try:
                self._on_lost(self, reason)
            except Exception:  # pragma: no cover
                log.exception("ESL on_lost callback failed")

    def stop(self, timeout: float = 1.0):
        """Say ``exit`` politely (bounded), then close."""
        if not self._closed:
            try:
                self.send("exit", timeout=timeout)
            except Exception:
                pass
        self.close("stopped by client")
