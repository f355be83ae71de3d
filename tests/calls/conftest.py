"""Live calls test rig: the park rig's site (simulated switch running the example config's
dialplan, the controller with calls, park and pickup, a fresh schema) and a reader of what the
controller's event bus published."""

import pytest

from park.conftest import base_config, make_site, migrated  # noqa: F401  (fixtures)


class Published:
    """Every event the bus published since the subscription, as an admin stream sees them."""

    def __init__(self, bus):
        self.sub, _ = bus.subscribe(None)
        self.events = []

    def drain(self):
        while True:
            event = self.sub.get(timeout=0)
            if event is None:
                return self.events
            self.events.append(event)

    def of(self, user):
        """(kind, state) of each event for `user`, in order."""
        return [(e.kind, e.call.get("state")) for e in self.drain() if user in e.users]

    def kinds(self, user):
        return [k for k, _ in self.of(user)]

    def last(self, user, kind):
        found = [e for e in self.drain() if user in e.users and e.kind == kind]
        return found[-1].call if found else None


@pytest.fixture
def published():
    def make(site):
        return Published(site.controller.bus)
    return make
