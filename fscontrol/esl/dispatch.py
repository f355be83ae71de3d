"""Event dispatch: per-channel ordered queues run by their own greenlets, plus per-uuid waiters.

Events of one channel are handled in order; different channels (and non-channel events, on
their own queue) run concurrently, so a slow or raising handler never stalls the socket
reader or other channels. Routing is a dict lookup by uuid; idle workers exit by themselves.
``pending`` counts events queued and not yet handled; ``lag_observer``, when set, is given each
event's seconds from its dispatch (its arrival off the socket) to the start of its handling.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Iterable, Optional, Union

import gevent
from gevent.event import AsyncResult
from gevent.queue import Empty, Queue

from .errors import ChannelGone, CommandTimeout
from .events import Event

log = logging.getLogger("fscontrol.esl.dispatch")

Match = Union[str, Iterable[str], Callable[[Event], bool]]
Handler = Callable[[Event], object]


class Waiter:
    """Something to wait on for one event of one channel (gevent-waitable, AsyncResult-like).

    ``get(timeout)`` returns the matching :class:`Event`; raises :class:`ChannelGone` if the
    channel is destroyed first, :class:`CommandTimeout` on timeout (and then cancels itself).
    """

    __slots__ = ("uuid", "_match", "_names", "_result", "_owner", "timeout", "description")

    def __init__(self, owner: "Dispatcher", uuid: str, match: Match, timeout: Optional[float] = None):
        self.uuid = uuid
        self._owner = owner
        self._result = AsyncResult()
        self.timeout = timeout
        self._names = None
        self._match = None
        if isinstance(match, str):
            self._names = frozenset((match,))
            self.description = match
        elif callable(match):
            self._match = match
            self.description = getattr(match, "__name__", "predicate")
        else:
            self._names = frozenset(match)
            self.description = "|".join(sorted(self._names))

    def matches(self, event: Event) -> bool:
        if self._names is not None:
            return event.name in self._names or event.key in self._names
        return bool(self._match(event))

    # AsyncResult-like surface -------------------------------------------------------------
    def ready(self) -> bool:
        return self._result.ready()

    def successful(self) -> bool:
        return self._result.successful()

    @property
    def value(self) -> Optional[Event]:
        return self._result.value

    @property
    def exception(self):
        return self._result.exception

    def rawlink(self, callback):  # lets gevent.wait([...]) wait on waiters
        self._result.rawlink(callback)

    def unlink(self, callback):
        self._result.unlink(callback)

    def set(self, event: Event):
        self._result.set(event)

    def set_exception(self, exc: BaseException):
        self._result.set_exception(exc)

    def get(self, timeout: Optional[float] = None) -> Event:
        if timeout is None:
            timeout = self.timeout
        self._result.wait(timeout)
        if not self._result.ready():
            self.cancel()
            raise CommandTimeout(
                f"no {self.description} event for channel {self.uuid} within {timeout}s"
            )
        return self._result.get(block=False)

    def cancel(self):
        self._owner._remove_waiter(self)

    def __repr__(self):  # pragma: no cover
        return f"<Waiter {self.uuid} {self.description} ready={self.ready()}>"


class _Worker:
    __slots__ = ("key", "queue", "greenlet", "owner")

    def __init__(self, owner: "Dispatcher", key):
        self.owner = owner
        self.key = key
        self.queue = Queue()
        self.greenlet = gevent.spawn(self.run)

    def run(self):
        owner = self.owner
        queue = self.queue
        idle = owner.idle_timeout
        clock = time.monotonic
        try:
            while True:
                try:
                    event, handlers, queued_at = queue.get(timeout=idle)
                except Empty:
                    break
                observe = owner.lag_observer
                if observe is not None:
                    observe(clock() - queued_at)
                for handler in handlers:
                    try:
                        handler(event)
                    except Exception:
                        log.exception("ESL handler %r failed on %s %s", handler, event.name, event.uuid)
                owner.pending -= 1
                if event.name == "CHANNEL_DESTROY" and queue.empty():
                    break
        finally:
            # no yield between the last empty check and the removal: no event can be lost
            if owner._workers.get(self.key) is self:
                del owner._workers[self.key]


class Dispatcher:
    """Routes events to handlers (by event name or CUSTOM subclass, ``'*'`` = every event)
    and resolves per-uuid :class:`Waiter` objects."""

    def __init__(self, idle_timeout: float = 30.0):
        self.idle_timeout = idle_timeout
        self._handlers: dict = {}  # key -> tuple of handlers (rebuilt on change: cheap reads)
        self._any: tuple = ()
        self._waiters: dict = {}  # uuid -> list[Waiter]
        self._workers: dict = {}  # uuid (None for non-channel events) -> _Worker
        self.pending = 0  # events queued for handlers, not handled yet
        self.lag_observer: Optional[Callable[[float], object]] = None

    # registration ---------------------------------------------------------------------------
    def on(self, key: str, handler: Handler):
        if key == "*":
            if handler not in self._any:
                self._any = self._any + (handler,)
            return
        current = self._handlers.get(key, ())
        if handler not in current:
            self._handlers[key] = current + (handler,)

    def off(self, key: str, handler: Handler):
        if key == "*":
            self._any = tuple(h for h in self._any if h != handler)
            return
        remaining = tuple(h for h in self._handlers.get(key, ()) if h != handler)
        if remaining:
            self._handlers[key] = remaining
        else:
            self._handlers.pop(key, None)

    def wait_for(self, uuid: str, match: Match, timeout: Optional[float] = None) -> Waiter:
        waiter = Waiter(self, uuid, match, timeout)
        self._waiters.setdefault(uuid, []).append(waiter)
        return waiter

    def _remove_waiter(self, waiter: Waiter):
        lst = self._waiters.get(waiter.uuid)
        if lst and waiter in lst:
            lst.remove(waiter)
            if not lst:
                del self._waiters[waiter.uuid]

    # hot path -------------------------------------------------------------------------------
    def resolve(self, event: Event):
        """Resolve waiters for ``event.uuid`` (called inline by the reader; never blocks)."""
        uuid = event.uuid
        waiters = self._waiters.get(uuid) if uuid else None
        if not waiters:
            return
        keep = []
        for waiter in waiters:
            if waiter._result.ready():
                continue
            try:
                hit = waiter.matches(event)
            except Exception as exc:  # a broken predicate fails its own waiter only
                waiter.set_exception(exc)
                continue
            if hit:
                waiter.set(event)
            elif event.name == "CHANNEL_DESTROY":
                waiter.set_exception(ChannelGone(uuid, event.hangup_cause))
            else:
                keep.append(waiter)
        if keep:
            self._waiters[uuid] = keep
        else:
            del self._waiters[uuid]

    def dispatch(self, event: Event):
        """Queue ``event`` for its handlers on its channel's worker (no-op without handlers)."""
        handlers = self._handlers.get(event.key)
        if self._any:
            handlers = (handlers or ()) + self._any
        if not handlers:
            return
        key = event.uuid
        worker = self._workers.get(key)
        if worker is None:
            worker = self._workers[key] = _Worker(self, key)
        self.pending += 1
        worker.queue.put((event, handlers, time.monotonic()))

    # maintenance ----------------------------------------------------------------------------
    def rename(self, old: str, new: str):
        moved = self._waiters.pop(old, None)
        if moved:
            for waiter in moved:
                waiter.uuid = new
            self._waiters.setdefault(new, []).extend(moved)

    def waiting_uuids(self):
        return list(self._waiters)

    def fail_waiters(self, uuid: str, exc: BaseException):
        for waiter in self._waiters.pop(uuid, ()):
            if not waiter.ready():
                waiter.set_exception(exc)

    @property
    def active_workers(self) -> int:
        return len(self._workers)

    def stop(self):
        workers = list(self._workers.values())
        self._workers.clear()
        self.pending = 0  # what the killed workers still held is dropped with them
        gevent.killall([w.greenlet for w in workers], block=False)
