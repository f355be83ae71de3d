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
def smtp(tmp_path):
    """A real SMTP server on 127.0.0.1 (tests/smtprig.py), not started: `smtp.start()`."""
    from smtprig import SmtpServer
    server = SmtpServer(tmp_path / "mail")
    yield server
    server.stop()


@pytest.fixture
def voicemail_controller(backend, database, smtp):  # noqa: F811
    """`voicemail_controller(**voicemail)`: the controller `fscontrol run` builds (Call Park,
    Group Call Pickup, Voicemail) against `backend`'s switch, with SMTP to the `smtp` server,
    users' emails `<name>@example.com`, and voicemail.storage a fresh directory under the
    configured one (tests/live/fscontrol.toml: /tmp/fscontrol-voicemail, which compose.yml
    mounts into the real switch at the same path) — `park={...}` replaces [park] keys too."""
    import dataclasses
    import os
    import uuid

    from parkrig import with_test_timing
    migrate(database)
    started = []

    def start(park=None, **voicemail):
        base = backend.config
        root = os.path.join(base.voicemail.storage, uuid.uuid4().hex[:12])
        os.makedirs(root, exist_ok=True)
        os.chmod(root, 0o777)           # the real switch records as its own user
        users = tuple(dataclasses.replace(u, email=f"{u.name.lower()}@example.com")
                      for u in base.users)
        config = dataclasses.replace(
            base, users=users,
            voicemail=dataclasses.replace(base.voicemail, storage=root, **voicemail),
            smtp=dataclasses.replace(base.smtp, host="127.0.0.1", port=smtp.port, retry_first=1,
                                     retry_max=2))
        if park:
            config = with_test_timing(config, **park)
        ctl = ParkController(config, database, pickup=True)
        started.append(ctl)
        ctl.start()
        ctl.voicemail = ctl.controller.feature("voicemail").service
        for u in users:                 # box directories the switch can write into
            os.makedirs(os.path.join(root, u.extension), mode=0o777, exist_ok=True)
            os.chmod(os.path.join(root, u.extension), 0o777)
        return ctl

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


@pytest.fixture
def attendant_controller(backend):  # noqa: F811
    """`attendant_controller(instant)`: the controller with AttendantFeature started against
    `backend`'s switch, its clock frozen at `instant` (`.clock.set(...)` moves it)."""
    from attendantrig import AttendantController, FrozenClock
    started = []

    def start(instant):
        ctl = AttendantController(backend.config, FrozenClock(instant)).start()
        started.append(ctl)
        return ctl

    yield start
    for ctl in started:
        ctl.stop()
