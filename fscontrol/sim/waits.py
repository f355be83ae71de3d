"""The waiting half of the phone API, shared by the simulated switch and the live-switch phone
driver of the tests (tests/livephones.py), so scenarios wait the same way on both."""

from __future__ import annotations

import time

import gevent.event


class Changes:
    """Something whose state changes: `notify()` after each change, `wait_until(pred)` to wait
    for a condition on it (woken by changes, re-checked at least every 50 ms)."""

    def __init__(self):
        self._changed = gevent.event.Event()

    def notify(self):
        ev, self._changed = self._changed, gevent.event.Event()
        ev.set()

    def wait_changed(self, timeout):
        self._changed.wait(timeout)

    def wait_until(self, pred, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            ev = self._changed
            if pred():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ev.wait(min(remaining, 0.05))


class PhoneWaits:
    """`wait_*` of a phone, built on its `sw` (a Changes), `user`, `state`, `hearing()`,
    `connected_to()` and `ringing_call()`."""

    def wait_for(self, pred, timeout=5.0, what=None):
        """Wait until pred(phone) is true; raise TimeoutError naming `what` otherwise."""
        if not self.sw.wait_until(lambda: pred(self), timeout):
            raise TimeoutError("phone %s: timed out after %.1fs waiting for %s (state=%s, hearing=%s, connected_to=%s)"
                               % (self.user, timeout, what or getattr(pred, "__name__", "condition"),
                                  self.state, self.hearing(), self.connected_to()))
        return True

    def wait_ringing(self, timeout=5.0):
        return self.wait_for(lambda p: p.ringing_call() is not None, timeout, "ringing")

    def wait_idle(self, timeout=5.0):
        return self.wait_for(lambda p: p.state == "idle", timeout, "idle")

    def wait_hearing(self, what, timeout=5.0):
        return self.wait_for(lambda p: p.hearing() == what, timeout, "hearing %s" % what)

    def wait_connected(self, to=None, timeout=5.0):
        return self.wait_for(lambda p: p.connected_to() is not None and (to is None or p.connected_to() == to),
                             timeout, "connected to %s" % (to or "anyone"))
