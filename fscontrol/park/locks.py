"""One lock per call (never one global lock): operations on one parked call run one at a time, and
a lock that cannot be had in time is an error the caller acts on, not a silent pass."""

from __future__ import annotations

import contextlib

import gevent.lock

from .errors import CallBusy


class CallLocks:
    def __init__(self, timeout: float = 10.0):
        self.timeout = timeout
        self._locks: dict[str, list] = {}  # uuid -> [lock, users]

    @contextlib.contextmanager
    def hold(self, uuid: str, timeout: float | None = None):
        entry = self._locks.setdefault(uuid, [gevent.lock.Semaphore(), 0])
        entry[1] += 1
        try:
            if not entry[0].acquire(timeout=self.timeout if timeout is None else timeout):
                raise CallBusy(f"call {uuid}: busy with another park operation")
            try:
                yield
            finally:
                entry[0].release()
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                self._locks.pop(uuid, None)
