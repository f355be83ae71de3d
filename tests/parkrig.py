"""A Call Park controller for tests: the controller with `ParkFeature` on a switch and a database
schema, with test timings, that can be stopped cleanly, killed abruptly (kill -9: no cleanup) and
started again on the same schema; and the operator's view of what is parked (`fscontrol parked`'s
source), which is how scenarios learn the orbit a call got. With `pickup=True` it is the
controller `fscontrol run` builds (`fscontrol.controller.build`: Call Park, then Group Call
Pickup), and `admin` changes pickup-group membership at run time as `fscontrol pickup-group`
does, from outside the controller.

A module of its own (not a conftest) so tests/park and tests/scenarios share it: several
conftest.py exist and `from conftest import ...` would pick whichever was imported last."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager

from fscontrol.config.model import CallViaWorkConfig
from fscontrol.controller import Controller, build, make_client
from fscontrol.render import contract, render_files
from fscontrol.render.render import in_context
from fscontrol.sim import SimSwitch
from fscontrol.db import upgrade
from fscontrol.park import ParkFeature
from fscontrol.park.store import ParkStore
from fscontrol.pickup import Groups, PickupFeature
from fscontrol.pickup.store import PickupStore
from waiting import until


@contextmanager
def sites_made_by(build_site):
    """A fixture's factory: `make(...)` builds a site with `build_site(...)`; at the end every
    site made is stopped, and its switch with it even if the site's stop fails."""
    sites = []

    def make(*args, **kwargs):
        site = build_site(*args, **kwargs)
        sites.append(site)
        return site

    try:
        yield make
    finally:
        for site in sites:
            try:
                site.stop()
            finally:
                site.switch.stop()


def sim_switch(config):
    """A simulated switch running the config's rendered dialplan (tests/park, tests/callviawork)."""
    # the dialplan does not depend on park timings; render it with valid ones
    # (nor on [call_via_work]'s, which Call Via Work tests set below the loader's minimums)
    valid = dataclasses.replace(config, park=dataclasses.replace(
        config.park, timeout=90, ringback_timeout=30), call_via_work=CallViaWorkConfig())
    dialplan = in_context(render_files(valid)[contract.DIALPLAN_FILE], config.switch.context)
    return SimSwitch(port=0, context=config.switch.context, dialplan=dialplan, heartbeat=0).start()


def on_port(config, port):
    """The config pointed at a switch on `port` (its default identity is then 127.0.0.1:port)."""
    return dataclasses.replace(config, switch=dataclasses.replace(config.switch, esl_port=port))


def with_test_timing(config, orbits=None, **park):
    """TEST ONLY: a config with park timings below Lync's 10 s minimum, which `load()` refuses;
    built with dataclasses.replace so the validation itself stays as strict as it is."""
    new = dataclasses.replace(config, park=dataclasses.replace(config.park, **park))
    if orbits is not None:
        new = dataclasses.replace(new, orbits=tuple(orbits) + new.ranges("pickup"))
    return new


def with_call_via_work(config, **cvw):
    """TEST ONLY: a config with [call_via_work] keys replaced (e.g. user_timeout=2, below the
    loader's 5 s minimum), as with_test_timing does for [park]."""
    return dataclasses.replace(config, call_via_work=dataclasses.replace(config.call_via_work,
                                                                          **cvw))


def migrate(database):
    with database.connection() as conn:
        upgrade(conn)
    return database


class PickupAdmin:
    """Run-time pickup-group membership, changed the way `fscontrol pickup-group add|remove`
    does it: in its own process, so through its own store and the config's groups, never the
    running controller's objects. The controller reads the membership at the next pickup."""

    def __init__(self, config, database):
        self.groups = Groups(config)
        self.store = PickupStore(database, config.switch.identity)

    def current(self):
        return self.groups.current(self.store.assignments())

    def add(self, number, extension):
        self.groups.check_add(self.current(), number, extension)
        self.store.assign(extension, number)

    def remove(self, number, extension):
        group = self.current().get(number)
        if group is None or extension not in group.members:
            raise ValueError(f"{extension} is not in group {number}")
        self.store.assign(extension, None)


class ParkController:
    """`fscontrol run` with Call Park (and, with `pickup=True`, every feature `build` wires),
    in-process, against `config.switch` and `database`."""

    def __init__(self, config, database, controller_id="ctl-scenario", pickup=False):
        self.config = config
        self.database = database
        self.controller_id = controller_id
        self.pickup = pickup
        self.controller = None
        self.feature = None
        self.pickup_feature = None
        self.view = ParkStore(database)   # the operator's view, independent of the controller
        self.admin = PickupAdmin(config, database) if pickup else None

    def start(self, timeout=5.0):
        esl = make_client(self.config, connect_timeout=2, command_timeout=5,
                          heartbeat_interval=None, backoff=(0.02, 0.2))
        if self.pickup:
            self.controller = build(self.config, self.database, esl, self.controller_id)
        else:
            self.controller = Controller(self.config, self.database, esl)
            self.controller.features.append(ParkFeature(controller_id=self.controller_id))
        features = self.controller.features
        self.feature = next(f for f in features if isinstance(f, ParkFeature))
        self.pickup_feature = next((f for f in features if isinstance(f, PickupFeature)), None)
        self.controller.start()
        if not esl.wait_connected(timeout):
            raise TimeoutError("the controller did not connect to %s:%s"
                               % (self.config.switch.esl_host, self.config.switch.esl_port))
        return self

    @property
    def running(self):
        return self.controller is not None

    def stop(self):
        if self.controller is not None:
            controller, self.controller = self.controller, None
            controller.stop()

    def crash(self):
        """The controller dies like kill -9: its greenlets and its socket vanish, nothing is
        cleaned up, said to the switch or written. The switch and the database keep going."""
        if self.controller is None:
            return
        controller, self.controller = self.controller, None
        esl = controller.esl
        for feature in controller.features:
            feature.stop()              # its timers and flows die with the process
        conn = esl._conn
        esl._stop_event.set()           # no reconnect: the process is gone
        if esl._supervisor is not None:
            esl._supervisor.kill(block=False)
        if conn is not None:
            conn.close("killed")
        esl.dispatcher.stop()

    # -- the operator's view (`fscontrol parked`) ------------------------------------------------
    def parked(self):
        return self.view.all()

    def call_at(self, orbit):
        return self.view.by_orbit(orbit)

    def orbit_of(self, user, timeout=5.0):
        """The orbit where `user`'s call is parked, as `fscontrol parked` lists it (waits)."""
        def find():
            return next((c.orbit for c in self.parked() if c.caller_number == user), None)
        return until(find, timeout, message=f"no call of {user} in `fscontrol parked`")
