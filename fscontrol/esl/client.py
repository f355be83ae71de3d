"""``EslClient``: the controller's resilient connection to FreeSWITCH (inbound ESL).

Connects and re-connects (capped exponential backoff + jitter), subscribes, reconciles the
channel registry from ``show channels as json`` before new events reach handlers, runs the
``on_connect`` hooks, and turns each event into registry updates, job/waiter resolution and
per-channel handler dispatch. ``feed(bytes)`` drives the same pipeline without a socket.
"""

from __future__ import annotations

import logging
import random
from typing import Callable, Iterable, Optional

import gevent
from gevent.event import AsyncResult
from gevent.event import Event as GEvent

from .commands import CommandsMixin, Job, JobResult, bgapi_message, check_line, check_uuid, new_uuid
from .connection import EslConnection
from .dispatch import Dispatcher, Match, Waiter
from .errors import AuthenticationError, ChannelGone, CommandError, ConnectionLost, EslError
from .events import EslParser, Event, parse_plain_event
from .registry import ChannelRegistry

log = logging.getLogger("fscontrol.esl")

#: Events the core itself needs (registry, jobs, waiters, liveness); always subscribed.
REQUIRED_EVENTS = (
    "BACKGROUND_JOB", "HEARTBEAT", "CHANNEL_CREATE", "CHANNEL_DESTROY", "CHANNEL_UUID",
    "CHANNEL_CALLSTATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE",
    "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE",
    "CHANNEL_PROGRESS", "CHANNEL_PROGRESS_MEDIA", "CHANNEL_PARK", "CHANNEL_UNPARK",
)


def subscription_command(names: Iterable[str]) -> str:
    """``event plain A B CUSTOM x::y`` — names containing ``::`` are CUSTOM subclasses."""
    plain, custom = [], []
    for name in names:
        check_line("event name", name)
        if not name or " " in name:
            raise ValueError(f"event name {name!r}: must be one word")
        if name == "CUSTOM" or name == "*":
            continue
        target = custom if "::" in name else plain
        if name not in target:
            target.append(name)
    parts = ["event plain", *plain]
    if custom:
        parts += ["CUSTOM", *custom]
    return " ".join(parts)


class EslClient(CommandsMixin):
    """Resilient inbound-ESL client. Every blocking call has a timeout; see module docs."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8021, password: str = "ClueCon",
                 events: Iterable[str] = (), *, connect_timeout: float = 5.0,
                 command_timeout: float = 10.0, heartbeat_interval: Optional[float] = 20.0,
                 heartbeat_misses: int = 3, backoff=(0.5, 30.0), backoff_factor: float = 2.0,
                 backoff_jitter: float = 0.5, variables: Optional[Iterable[str]] = None,
                 worker_idle_timeout: float = 30.0):
        self.host = host
        self.port = int(port)
        self.address = f"{host}:{self.port}"
        self._password = password
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_misses = heartbeat_misses
        self.backoff = (float(backoff[0]), float(backoff[1]))
        self.backoff_factor = backoff_factor
        self.backoff_jitter = backoff_jitter
        self._events = list(REQUIRED_EVENTS)
        for name in events:
            if name not in self._events:
                self._events.append(name)
        subscription_command(self._events)  # validate early
        self.registry = ChannelRegistry(variables)
        self.dispatcher = Dispatcher(worker_idle_timeout)
        self._jobs: dict = {}
        self._on_connect: list = []
        self._on_disconnect: list = []
        self._conn: Optional[EslConnection] = None
        self._ready = GEvent()  # connected + subscribed + reconciled
        self._state_changed = GEvent()
        self._stop_event = GEvent()
        self._lost = GEvent()
        self._fatal: Optional[BaseException] = None
        self.rejected = GEvent()  # set when the switch refused the password (final)
        self._supervisor = None
        self._holding = False
        self._held: list = []
        self._feed_parser = EslParser()
        self.last_error: Optional[str] = None  # why the last connect attempt failed
        self.last_loss: Optional[str] = None  # why the last established connection ended
        self.connect_count = 0

    # configuration --------------------------------------------------------------------------
    @property
    def events(self) -> list:
        return list(self._events)

    @property
    def subscription(self) -> str:
        return subscription_command(self._events)

    def on(self, name: str, handler: Callable[[Event], object]):
        """Run ``handler(event)`` for events named ``name`` (CUSTOM: the subclass, e.g.
        ``"valet_parking::info"``; ``"*"``: every event). Subscribes to it if needed."""
        self.dispatcher.on(name, handler)
        if name != "*" and name not in self._events:
            self._events.append(name)
            if self.connected:
                gevent.spawn(self._subscribe_more, name)
        return handler

    def _subscribe_more(self, name: str):
        try:
            self.send_command(subscription_command([name]))
        except EslError as exc:  # the next (re)connect subscribes to it anyway
            log.warning("ESL %s: could not subscribe to %s: %s", self.address, name, exc)

    def off(self, name: str, handler):
        self.dispatcher.off(name, handler)

    def on_connect(self, callback: Callable[["EslClient"], object]):
        """``callback(client)`` after every (re)connect, once the registry is reconciled."""
        self._on_connect.append(callback)
        return callback

    def on_disconnect(self, callback: Callable[["EslClient"], object]):
        """``callback(client)`` when an established connection is lost or the client stops
        (runs in the socket's reader: it must not block)."""
        self._on_disconnect.append(callback)
        return callback

    def _disconnected(self):
        for callback in list(self._on_disconnect):
            try:
                callback(self)
            except Exception:
                log.exception("ESL on_disconnect hook %r failed", callback)

    def wait_for(self, uuid: str, match: Match, timeout: Optional[float] = None) -> Waiter:
        """A :class:`Waiter` for the next event of channel ``uuid`` matching ``match`` (event
        name, names, or predicate). Register it *before* sending the command it confirms."""
        return self.dispatcher.wait_for(check_uuid("uuid", uuid), match,
                                        self.command_timeout if timeout is None else timeout)

    # lifecycle ------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._ready.is_set() and self._conn is not None and not self._conn.closed

    def start(self) -> "EslClient":
        """Connect (with retry) in the background; returns at once."""
        if self._supervisor is None or self._supervisor.dead:
            self._stop_event.clear()
            self._fatal = None
            self.rejected.clear()
            self._supervisor = gevent.spawn(self._supervise)
        return self

    def wait_connected(self, timeout: Optional[float] = None) -> bool:
        """True once connected; False on timeout; raises AuthenticationError if rejected."""
        with gevent.Timeout(timeout, False):
            while True:
                if self._fatal is not None:
                    raise self._fatal
                if self.connected:
                    return True
                self._state_changed.clear()
                if self._fatal is None and not self.connected:
                    self._state_changed.wait()
        if self._fatal is not None:
            raise self._fatal
        return self.connected

    def connect(self, timeout: Optional[float] = None) -> "EslClient":
        """``start()`` + wait; raises AuthenticationError or ConnectionLost (with the last
        failure) if not connected within ``timeout`` (default: connect_timeout)."""
        self.start()
        timeout = self.connect_timeout if timeout is None else timeout
        if not self.wait_connected(timeout):
            raise ConnectionLost(f"ESL at {self.address}: not connected after {timeout}s"
                                 + (f" ({self.last_error})" if self.last_error else ""))
        return self

    def stop(self):
        """Stop reconnecting, say ``exit``, fail pending work with ConnectionLost."""
        self._stop_event.set()
        conn = self._conn
        if conn is not None:
            conn.stop()
        if self._supervisor is not None:
            self._supervisor.kill(block=True, timeout=2)
            self._supervisor = None
        self._ready.clear()
        self._fail_jobs(ConnectionLost(f"ESL at {self.address}: client stopped"))
        self.dispatcher.stop()
        self._disconnected()
        self._notify()

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.stop()

    def _notify(self):
        self._state_changed.set()

    def _backoff_delay(self, failures: int) -> float:
        base, cap = self.backoff
        delay = min(cap, base * (self.backoff_factor ** max(0, failures - 1)))
        return random.uniform(delay * (1.0 - self.backoff_jitter), delay)

    def _supervise(self):
        failures = 0
        while not self._stop_event.is_set():
            try:
                self._connect_once()
            except AuthenticationError as exc:
                self._fatal = exc
                self.last_error = str(exc)
                self.rejected.set()
                log.error("%s; not retrying", exc)
                self._notify()
                return
            except (EslError, OSError) as exc:
                failures += 1
                self.last_error = str(exc)
                delay = self._backoff_delay(failures)
                reason = str(exc).removeprefix(f"ESL at {self.address}").lstrip(": ")
                log.warning("ESL %s: connect attempt %d failed: %s; retrying in %.2fs",
                            self.address, failures, reason, delay)
                self._notify()
                self._stop_event.wait(delay)
                continue
            failures = 0
            self._lost.wait()
            if self._stop_event.is_set():
                return
            log.warning("ESL %s: connection lost (%s); reconnecting", self.address,
                        self._conn.lost_reason if self._conn else "?")

    def _connect_once(self):
        self._lost.clear()
        conn = EslConnection(self.host, self.port, self._password,
                             connect_timeout=self.connect_timeout,
                             command_timeout=self.command_timeout,
                             on_event=self._on_event_bytes, on_lost=self._on_conn_lost)
        self._conn = conn
        self._held = []
        self._holding = True
        try:
            conn.connect()
            reply = conn.send(subscription_command(self._events))
            if not reply.startswith("+OK"):
                raise ConnectionLost(f"ESL at {self.address}: subscription refused: {reply}")
            conn.send("api show channels as json", on_reply=self._reconcile)
            # a channel new to us is known only by `show channels`, which carries none of its
            # variables (who authenticated it, which feature placed it): its dump has them
            for uuid in list(self.registry.unseen):
                conn.send(f"api uuid_dump {uuid}", on_reply=self._dumped)
        except BaseException:
            self._release_held()
            conn.close("connect failed")
            raise
        self._release_held()
        if self.heartbeat_interval:
            conn.start_watchdog(self.heartbeat_interval, self.heartbeat_misses)
        if conn.closed:
            raise ConnectionLost(f"ESL at {self.address}: {conn.lost_reason}")
        self.connect_count += 1
        self.last_error = None
        self._ready.set()
        self._notify()
        log.info("ESL %s: connected (%d channels live)", self.address, len(self.registry))
        for callback in list(self._on_connect):
            try:
                callback(self)
            except Exception:
                log.exception("ESL on_connect hook %r failed", callback)

    def _reconcile(self, text: str) -> str:
        """Runs inline in the reader at the reply's place in the stream."""
        if text.startswith("-ERR"):
            raise ConnectionLost(f"ESL at {self.address}: show channels failed: {text.strip()}")
        removed = self.registry.reconcile(text)
        for uuid in removed:
            self.dispatcher.fail_waiters(uuid, ChannelGone(uuid, "vanished while disconnected"))
        for uuid in self.dispatcher.waiting_uuids():
            if uuid not in self.registry:
                self.dispatcher.fail_waiters(uuid, ChannelGone(uuid, "not live after reconnect"))
        return text

    def _dumped(self, text: str) -> str:
        """A channel's `uuid_dump` (the CHANNEL_DATA event as plain text, mod_commands.c
        uuid_dump_function), inline at its place in the stream; `-ERR No such channel!` when it
        ended meanwhile (its CHANNEL_DESTROY is in the stream too)."""
        if not text.startswith("-ERR") and text.strip():
            event = parse_plain_event(text.encode())
            if event.uuid in self.registry:
                self.registry.apply(event)
        return text

    def _release_held(self):
        self._holding = False
        held, self._held = self._held, []
        dispatch = self.dispatcher.dispatch
        for event in held:
            dispatch(event)

    def _on_conn_lost(self, conn: EslConnection, reason: str):
        if conn is not self._conn:
            return
        was_ready = self._ready.is_set()
        if was_ready:
            self.last_loss = reason
        self._ready.clear()
        if was_ready:
            self._disconnected()
        self._fail_jobs(ConnectionLost(f"ESL at {self.address}: {reason} (job outcome unknown)"))
        self._lost.set()
        self._notify()

    def _fail_jobs(self, exc: BaseException):
        jobs, self._jobs = self._jobs, {}
        for result in jobs.values():
            if not result.ready():
                result.set_exception(exc)

    # the event pipeline (reader greenlet, must never block) ---------------------------------
    def _on_event_bytes(self, body: bytes):
        self.process_event(parse_plain_event(body))

    def process_event(self, event: Event):
        """Registry update, job and waiter resolution, then handler dispatch."""
        name = event.name
        if name == "CHANNEL_UUID":
            old = event.headers.get("Old-Unique-ID")
            if old:
                self.dispatcher.rename(old, event.uuid)
        self.registry.apply(event)
        if name == "BACKGROUND_JOB":
            result = self._jobs.pop(event.job_uuid, None)
            if result is not None:
                result.set(event)
        elif event.uuid:
            self.dispatcher.resolve(event)
        if self._holding:
            self._held.append(event)
        else:
            self.dispatcher.dispatch(event)

    def feed(self, data: bytes) -> int:
        """Push raw ESL bytes (event messages) through parse+type+registry+dispatch without a
        socket — for benchmarks and tests. Returns the number of events processed."""
        count = 0
        for msg in self._feed_parser.feed(data):
            if msg.headers.get("Content-Type") == "text/event-plain":
                self.process_event(parse_plain_event(msg.body))
                count += 1
        return count

    # commands -------------------------------------------------------------------------------
    def _require(self) -> EslConnection:
        conn = self._conn
        if conn is None or conn.closed or not self._ready.is_set():
            reason = (conn.lost_reason if conn is not None and conn.closed else None) or self.last_error
            raise ConnectionLost(f"ESL at {self.address}: not connected" + (f" ({reason})" if reason else ""))
        return conn

    def send_command(self, command: str, timeout: Optional[float] = None,
                     body: Optional[str] = None) -> str:
        """Send a raw command (header lines joined by ``\\n``, no trailing blank line) and
        an optional body (sent with its ``content-length``); return the reply text."""
        return self._require().send(command, timeout=timeout, body=body)

    def api(self, command: str, timeout: Optional[float] = None) -> str:
        """``api <command>``; returns the body as text (``-ERR ...`` included: the uuid_*
        helpers raise CommandError for those, raw ``api`` leaves that to the caller)."""
        check_line("command", command)
        return self._require().send("api " + command, timeout=timeout)

    def bgapi_job(self, command: str, timeout: Optional[float] = None,
                  job_uuid: Optional[str] = None) -> Job:
        """Send ``bgapi`` with a client-chosen Job-UUID (waiter registered first); returns a
        :class:`Job` to wait on (``timeout``: for the job, default command_timeout)."""
        job_uuid = job_uuid or new_uuid()
        message = bgapi_message(command, job_uuid)
        conn = self._require()
        result = AsyncResult()
        self._jobs[job_uuid] = result
        try:
            reply = conn.send(message)  # the reply itself is quick: command_timeout
        except BaseException:
            self._jobs.pop(job_uuid, None)
            raise
        if not reply.startswith("+OK"):
            self._jobs.pop(job_uuid, None)
            raise CommandError(reply[4:].strip() if reply.startswith("-ERR") else reply,
                               "bgapi", reply)
        echoed = reply.partition("Job-UUID: ")[2].strip()
        if echoed and echoed != job_uuid:  # a switch that ignored our Job-UUID header
            self._jobs[echoed] = self._jobs.pop(job_uuid, result)
            job_uuid = echoed
        return Job(self, job_uuid, command, result, self.command_timeout if timeout is None else timeout)

    def bgapi(self, command: str, timeout: Optional[float] = None,
              job_uuid: Optional[str] = None) -> JobResult:
        """``bgapi`` and wait for its BACKGROUND_JOB: JobResult, or CommandError(cause)."""
        return self.bgapi_job(command, timeout, job_uuid).get()
