"""What each feature service runs beside the event handlers: its call flows, one greenlet each
(a handler only hands work over, it never blocks the channel's events), tracked so the service
can stop them, with an expected error logged in one line and any other with its traceback."""

from __future__ import annotations

import logging

import gevent

from .esl import EslError


class Flows:
    def __init__(self, log: logging.Logger, feature: str, expected: tuple = ()):
        self.log = log
        self.feature = feature
        self.expected = (EslError,) + tuple(expected)
        self._running: set[gevent.Greenlet] = set()

    def __bool__(self) -> bool:
        return bool(self._running)

    def track(self, g: gevent.Greenlet) -> gevent.Greenlet:
        """Stop `g` with the others (e.g. a spawn_later that will start a flow)."""
        self._running.add(g)
        g.link(self._running.discard)
        return g

    def spawn(self, fn, *args, **kwargs) -> gevent.Greenlet:
        def run():
            try:
                return fn(*args, **kwargs)
            except self.expected as e:
                self.log.warning("%s: %s: %s", self.feature, fn.__name__, e)
            except Exception:
                self.log.exception("%s: %s failed", self.feature, fn.__name__)
        return self.track(gevent.spawn(run))

    def kill_all(self) -> None:
        for g in list(self._running):
            g.kill(block=False)


def users_domain(config, esl, log: logging.Logger, feature: str) -> str:
    """The users' domain for dial strings, voicemail boxes and chat: `switch.domain`, asked from
    the switch when it is a variable (`$${domain}`)."""
    d = config.switch.domain
    if "${" in d:
        try:
            d = esl.api("global_getvar domain").strip() or d
        except EslError as e:
            log.warning("%s: could not ask the switch for its domain: %s", feature, e)
    return d
