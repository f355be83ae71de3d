"""HTTP API test rig: a Call Park site (simulated switch + controller + database, from
tests/park) with the HTTP API served on a free port in the same gevent hub, tokens for users
1001 and 1002 and an admin, and a real HTTP client (requests) per token.

Until the calls tracker and Call Via Work land, they are small fakes written to the contracts in
the helper brief (fscontrol.calls.CallTracker, fscontrol.callviawork's service and control): the
API is tested through HTTP against them; the fakes publish to the controller's real bus."""

from __future__ import annotations

import dataclasses
import itertools
import uuid as _uuid
from datetime import datetime, timezone

import pytest
import requests

from fscontrol.api.server import ApiServer
from fscontrol.errors import RequestError
from park.conftest import Site, base_config, migrated  # noqa: F401  (fixtures reused)
from waiting import until  # noqa: F401


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


# -- fakes of the contracts (replaced by the real features once they are on main) --------------
class DestinationNotAllowed(RequestError):
    id = "destination_not_allowed"
    kind = "invalid"


class DeviceUnregistered(RequestError):
    id = "device_unregistered"
    kind = "conflict"


class FakeTracker:
    def __init__(self, bus):
        self.bus = bus
        self.calls: dict[str, dict] = {}

    def snapshot(self, user=None):
        return [dict(c) for c in self.calls.values() if user is None or c["user"] == user]

    def get(self, call_id):
        c = self.calls.get(call_id)
        return dict(c) if c else None

    def user_of(self, call_id):
        c = self.calls.get(call_id)
        return c["user"] if c else None

    def add(self, user, peer="1002", call_id=None, direction="outbound", via=None):
        call = {"id": call_id or str(_uuid.uuid4()), "user": user, "state": "ringing",
                "direction": direction, "peer": {"number": peer, "name": None}, "peer_id": None,
                "started_at": now(), "answered_at": None, "ended_at": None, "reason": None,
                "orbit": None, "via": via}
        self.calls[call["id"]] = call
        self.bus.publish("call_created", dict(call), [user])
        return call

    def update(self, call_id, kind="call_updated", **fields):
        call = self.calls[call_id]
        call.update(fields)
        self.bus.publish(kind, dict(call), [call["user"]])

    def end(self, call_id, reason="NORMAL_CLEARING"):
        call = self.calls.pop(call_id)
        call.update(state="ended", ended_at=now(), reason=reason)
        self.bus.publish("call_ended", dict(call), [call["user"]])


@dataclasses.dataclass
class FakePlacement:
    id: str
    user: str
    destination: str
    state: str = "ringing_user"
    outcome: str | None = None

    def to_dict(self):
        return {"id": self.id, "user": self.user, "destination": self.destination,
                "state": self.state, "outcome": self.outcome, "user_leg": self.id,
                "destination_leg": None, "created_at": now()}


class FakeCallViaWork:
    """service.place/get/cancel and control.* of the contract, over the fake tracker."""

    name = "callviawork"

    def __init__(self, tracker, registered=("1001", "1002")):
        self.tracker = tracker
        self.registered = set(registered)
        self.placements: dict[str, FakePlacement] = {}
        self.done: list[tuple] = []
        self.service = self.control = self
        self.orbits = itertools.count(7001)

    def place(self, user, destination, *, callback=None, call_id=None):
        if not destination.isdigit():
            raise DestinationNotAllowed(f"destination: {destination} is not allowed", "destination")
        if user not in self.registered:
            raise DeviceUnregistered(f"user {user}'s phone is not registered", "user")
        p = FakePlacement(call_id or str(_uuid.uuid4()), user, destination)
        self.placements[p.id] = p
        self.tracker.add(user, destination, p.id, via="call_via_work")
        return p

    def get(self, call_id):
        return self.placements.get(call_id)

    def cancel(self, call_id):
        self.placements[call_id].state = "cancelled"
        self.tracker.end(call_id, "ORIGINATOR_CANCEL")

    def hold(self, call_id):
        self.done.append(("hold", call_id))
        self.tracker.update(call_id, state="held")

    def resume(self, call_id):
        self.done.append(("resume", call_id))
        self.tracker.update(call_id, state="talking")

    def transfer(self, call_id, target):
        self.done.append(("transfer", call_id, target))

    def park(self, call_id):
        self.done.append(("park", call_id))
        return str(next(self.orbits))

    def hangup(self, call_id):
        self.done.append(("hangup", call_id))
        self.tracker.end(call_id)

    def dial_into_conference(self, room, user):
        p = FakePlacement(str(_uuid.uuid4()), user, room)
        self.placements[p.id] = p
        return p


class FakeCalls:
    name = "calls"

    def __init__(self, bus):
        self.tracker = FakeTracker(bus)


# -- the rig -----------------------------------------------------------------------------------
class Client(requests.Session):
    """requests with a base URL and a bearer token."""

    def __init__(self, base, token=None):
        super().__init__()
        self.base = base
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 10)
        return super().request(method, self.base + url, *args, **kwargs)


class ApiSite:
    def __init__(self, site: Site, api: ApiServer):
        self.site, self.api = site, api
        self.controller = site.controller
        self.base = api.url
        store = api.context.tokens
        self.tokens = {}
        for name, user, admin in (("alice", "1001", False), ("bob", "1002", False),
                                  ("admin", None, True)):
            self.tokens[name], _ = store.create(user, admin)
        self.alice, self.bob, self.admin = (Client(self.base, self.tokens[n])
                                            for n in ("alice", "bob", "admin"))
        self.anonymous = Client(self.base)

    @property
    def tracker(self):
        return self.controller.feature("calls").tracker

    @property
    def cvw(self):
        return self.controller.feature("callviawork")

    def client(self, token):
        return Client(self.base, token)


@pytest.fixture
def api_site(migrated, base_config):  # noqa: F811
    config = dataclasses.replace(base_config, api=dataclasses.replace(base_config.api, heartbeat=1))
    site = Site(config, migrated)
    controller = site.controller
    if controller.feature("calls") is None:
        controller.features.append(FakeCalls(controller.bus))
    if controller.feature("callviawork") is None:
        controller.features.append(FakeCallViaWork(controller.feature("calls").tracker))
    api = ApiServer(config, migrated, listen="127.0.0.1:0").start()
    api.controller = controller
    try:
        yield ApiSite(site, api)
    finally:
        api.stop(timeout=1)
        site.stop()
        site.switch.stop()


class SseReader:
    """Reads a text/event-stream response in a greenlet: `events` holds (id, kind, data) in order,
    `comments` the comment lines (heartbeats)."""

    def __init__(self, client, path="/api/v1/events", last_id=None, **kwargs):
        import gevent
        import json
        headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
        self.response = client.get(path, stream=True, headers=headers, timeout=30, **kwargs)
        self.events, self.comments = [], []
        self._json = json
        self.greenlet = gevent.spawn(self._read)

    def _read(self):
        event = {}
        try:
            for raw in self.response.iter_lines(decode_unicode=True):
                line = raw if isinstance(raw, str) else raw.decode()
                if line == "":
                    if "data" in event:
                        self.events.append((int(event["id"]) if "id" in event else None,
                                            event.get("event", "message"),
                                            self._json.loads(event["data"])))
                    event = {}
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    event[name] = value[1:] if value.startswith(" ") else value
        except Exception:       # the stream was closed under us (close(), server stop)
            pass

    def kinds(self):
        return [k for _, k, _ in self.events]

    @property
    def last_id(self):
        return next((i for i, _, _ in reversed(self.events) if i is not None), None)

    def close(self):
        self.greenlet.kill(block=True)      # first: closing under a reading greenlet is refused
        self.response.close()
