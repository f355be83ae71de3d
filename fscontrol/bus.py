"""Live call events (the HTTP API's `/api/v1/events` stream): features publish what happened to
a call, naming the users it concerns; each subscriber has its own bounded queue (a client that
stops reading is dropped, never waited for) and may resume from an event id that is still in the
bounded buffer. Everything runs in the controller's gevent hub: publish never blocks."""

from __future__ import annotations

import collections
import itertools
import time
from dataclasses import dataclass, field
from typing import Iterable

import gevent.queue

#: the kinds of event a stream carries (the README's event list)
KINDS = ("call_created", "call_ringing", "call_answered", "call_updated", "call_ended",
         "call_parked", "call_retrieved", "call_picked_up",
         # a voicemail message (fscontrol.voicemail Message.to_dict()) instead of a call
         "voicemail_created", "voicemail_updated", "voicemail_deleted")


@dataclass(frozen=True)
class CallEvent:
    id: int
    kind: str
    call: dict                      # JSON-ready: what a client shows (see fscontrol.calls)
    users: frozenset[str]           # extensions this event concerns; admins see every event
    at: float = field(default_factory=time.time)

    def visible_to(self, user: str | None) -> bool:
        """`user` None: an admin."""
        return user is None or user in self.users


class Dropped(Exception):
    """The subscriber fell more than its queue behind and was dropped (it may reconnect and
    resume with Last-Event-ID, or take a new snapshot)."""


class Subscription:
    def __init__(self, bus: "EventBus", user: str | None, size: int):
        self.bus, self.user = bus, user
        self.queue: gevent.queue.Queue = gevent.queue.Queue(maxsize=size)
        self.dropped = False

    def offer(self, event: CallEvent) -> None:
        if self.dropped or not event.visible_to(self.user):
            return
        try:
            self.queue.put_nowait(event)
        except gevent.queue.Full:
            self.dropped = True
            self.bus.unsubscribe(self)
            self.queue = gevent.queue.Queue()   # wake a waiting reader with Dropped
            self.queue.put_nowait(None)

    def get(self, timeout: float | None = None) -> CallEvent | None:
        """The next event, or None after `timeout`; Dropped once the subscriber was dropped."""
        try:
            event = self.queue.get(timeout=timeout)
        except gevent.queue.Empty:
            if self.dropped:
                raise Dropped() from None
            return None
        if event is None and self.dropped:
            raise Dropped()
        return event

    def close(self) -> None:
        self.bus.unsubscribe(self)


class EventBus:
    def __init__(self, buffer: int = 1000, client_queue: int = 256):
        # ids keep growing across controller restarts (a client's Last-Event-ID from before a
        # restart is older than every new id, so it is answered with a snapshot)
        self._ids = itertools.count(int(time.time() * 1000))
        self._buffer: collections.deque[CallEvent] = collections.deque(maxlen=buffer)
        self._subscribers: list[Subscription] = []
        self.client_queue = client_queue
        self.dropped_clients = 0

    def publish(self, kind: str, call: dict, users: Iterable[str]) -> CallEvent:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event = CallEvent(next(self._ids), kind, call, frozenset(u for u in users if u))
        self._buffer.append(event)
        for sub in list(self._subscribers):
            sub.offer(event)
        return event

    def subscribe(self, user: str | None, last_id: int | None = None
                  ) -> tuple[Subscription, list[CallEvent] | None]:
        """A new subscription for `user` (None: admin) and, when `last_id` is given and still in
        the buffer, the events after it that the user may see; None when they are gone (the
        client needs a snapshot)."""
        sub = Subscription(self, user, self.client_queue)
        self._subscribers.append(sub)
        missed = None
        if last_id is not None and self._buffer and self._buffer[0].id <= last_id + 1:
            missed = [e for e in self._buffer if e.id > last_id and e.visible_to(user)]
        return sub, missed

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
            if sub.dropped:
                self.dropped_clients += 1

    @property
    def last_id(self) -> int | None:
        """The id of the newest event still in the buffer (None before the first): a snapshot
        taken now is as of this id."""
        return self._buffer[-1].id if self._buffer else None

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)
