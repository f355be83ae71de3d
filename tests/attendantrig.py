"""An auto attendant controller for tests: `fscontrol run`'s AttendantFeature, in-process, on a
frozen clock (the attendant needs no database), against a backend's switch. Shared by
tests/attendant and tests/scenarios (a module, not a conftest: see parkrig)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fscontrol.attendant import AttendantFeature
from fscontrol.controller import Controller, make_client


def at(text: str, zone: str) -> datetime:
    """An instant from a local wall-clock time: at("2026-03-30 09:00", "Europe/Berlin")."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


class FrozenClock:
    """The instant every schedule is decided on; `set` moves it (no test ever sleeps for time)."""

    def __init__(self, instant: datetime):
        self.instant = instant

    def set(self, instant: datetime) -> None:
        self.instant = instant

    def __call__(self) -> datetime:
        return self.instant


class AttendantController:
    def __init__(self, config, clock):
        self.config = config
        self.clock = clock
        self.controller = None
        self.feature = None

    def start(self, timeout=5.0):
        esl = make_client(self.config, connect_timeout=2, command_timeout=5,
                          heartbeat_interval=None, backoff=(0.02, 0.2))
        self.controller = Controller(self.config, None, esl)
        self.feature = AttendantFeature(clock=self.clock)
        self.controller.features.append(self.feature)
        self.controller.start()
        if not esl.wait_connected(timeout):
            raise TimeoutError("the controller did not connect")
        return self

    def stop(self):
        if self.controller is not None:
            controller, self.controller = self.controller, None
            controller.stop()
