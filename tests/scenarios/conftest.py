"""Scenarios run on the backend the `backend` fixture picks (tests/backends.py); Call Park
scenarios also get a controller with ParkFeature against that backend's switch, Group Call
Pickup scenarios the controller with every feature `fscontrol run` wires."""

import pytest

from backends import backend  # noqa: F401
from parkrig import ParkController, migrate, with_call_via_work, with_test_timing


def _controllers(backend, database, pickup):  # noqa: F811
    migrate(database)
    started = []

    def start(**timing):
        config = with_test_timing(backend.config, **timing) if timing else backend.config
        ctl = ParkController(config, database, pickup=pickup)
        started.append(ctl)
        return ctl.start()

    return start, started


@pytest.fixture
def park_controller(backend, database):  # noqa: F811
    """`park_controller(**timing)`: the controller with ParkFeature started against `backend`'s
    switch (`backend.config`, i.e. tests/live/fscontrol.toml, with `timing` replacing [park] keys,
    e.g. timeout=1 — below Lync's minimum, test only) on a fresh database schema. Stopped after
    the test; `crash()` kills it like kill -9 and `start()` brings it back on the same schema."""
    start, started = _controllers(backend, database, pickup=False)
    yield start
    for ctl in started:
        ctl.stop()


@pytest.fixture
def pickup_controller(backend, database):  # noqa: F811
    """`pickup_controller(**timing)`: as `park_controller`, but the controller is the one
    `fscontrol.controller.build` wires (ParkFeature, then PickupFeature); its `admin` adds and
    removes pickup-group members at run time as `fscontrol pickup-group` does."""
    start, started = _controllers(backend, database, pickup=True)
    yield start
    for ctl in started:
        ctl.stop()


@pytest.fixture
def cvw_controller(backend, database):  # noqa: F811
    """`cvw_controller(**keys)`: the controller `fscontrol run` builds, started against
    `backend`'s switch with [call_via_work] `keys` replaced (test values such as
    user_timeout=2 allowed); returns its CallViaWorkFeature (`.service`, `.control`)."""
    migrate(database)
    started = []

    def start(**cvw):
        config = with_call_via_work(backend.config, **cvw) if cvw else backend.config
        ctl = ParkController(config, database, pickup=True)
        started.append(ctl)
        ctl.start()
        return ctl.controller.feature("callviawork")

    yield start
    for ctl in started:
        ctl.stop()
