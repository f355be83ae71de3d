"""Auto attendant tests: the schedule against a reference evaluator, the config rules, and menus
on the simulated switch (the `backend` fixture's sim side, with tests/live/fscontrol.toml's
attendants) with the controller's clock frozen."""

import pytest

from backends import start_sim_backend


@pytest.fixture
def sim():
    b = start_sim_backend()
    try:
        yield b
    finally:
        b.switch.stop()
        b.sim.stop()


@pytest.fixture
def attendant(sim):
    """`attendant(instant)`: AttendantFeature on the sim backend, its clock frozen at `instant`."""
    from attendantrig import AttendantController, FrozenClock
    started = []

    def start(instant, config=None):
        ctl = AttendantController(config or sim.config, FrozenClock(instant)).start()
        started.append(ctl)
        return ctl

    yield start
    for ctl in started:
        ctl.stop()
