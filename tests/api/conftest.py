"""HTTP API test rig: the controller `fscontrol run` builds (every feature of this build) on a
simulated switch running the example config's dialplan and a fresh database schema, with the
HTTP API served on a free port in the same gevent hub; tokens for users 1001 and 1002 and an
admin; a real HTTP client (requests) per token. A test that needs a feature this build lacks is
skipped by `require(name)`."""

from __future__ import annotations

import dataclasses

import pytest
import requests

from fscontrol.api.server import ApiServer
from fscontrol.controller import build
from fscontrol.esl import EslClient
from park.conftest import base_config, migrated, sim_switch  # noqa: F401  (fixtures reused)
from waiting import until

DIRECT = "user/{number}@{domain}"   # Call Via Work dials destinations straight to the phones


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
    def __init__(self, config, database):
        self.config, self.database = config, database
        self.switch = sim_switch(config)
        esl = EslClient("127.0.0.1", self.switch.port, "ClueCon", connect_timeout=2,
                        command_timeout=5, heartbeat_interval=None, backoff=(0.02, 0.2))
        self.controller = build(config, database, esl, "ctl-api-test").start()
        assert esl.wait_connected(5)
        park = self.controller.feature("park").service
        until(lambda: park.reconciles > 0, 10, message="the first reconcile never ended")
        self.api = ApiServer(config, database, listen="127.0.0.1:0").start()
        self.api.controller = self.controller
        self.base = self.api.url
        self.tokens = {}
        for name, user, admin in (("alice", "1001", False), ("bob", "1002", False),
                                  ("admin", None, True)):
            self.tokens[name], _ = self.api.context.tokens.create(user, admin)
        self.alice, self.bob, self.admin = (Client(self.base, self.tokens[n])
                                            for n in ("alice", "bob", "admin"))
        self.anonymous = Client(self.base)

    def require(self, *names):
        for name in names:
            if self.controller.feature(name) is None:
                pytest.skip(f"the {name!r} feature is not in this build")

    @property
    def tracker(self):
        return self.controller.feature("calls").tracker

    @property
    def park(self):
        return self.controller.feature("park").service

    def client(self, token):
        return Client(self.base, token)

    def phone(self, user):
        name = next((u.name for u in self.config.users if u.extension == user), None)
        return self.switch.register(user, name)

    def call_of(self, user, state=None, timeout=5.0):
        """The id of `user`'s current call (in `state`), as the call tracker has it."""
        def find():
            calls = [c for c in self.tracker.snapshot(user) if state is None or c["state"] == state]
            return calls[-1]["id"] if calls else None
        return until(find, timeout, message=f"user {user} has no call" +
                     (f" {state}" if state else ""))

    def talking(self, caller="1001", callee="1002"):
        """`caller` calls `callee`, who answers: (caller's phone, callee's phone, caller's call id)."""
        a, b = self.phone(caller), self.phone(callee)
        b.auto_answer()
        a.dial(callee)
        a.wait_connected(to=callee, timeout=5)
        return a, b, self.call_of(caller, "talking")

    def orbit_of(self, phone, timeout=5.0):
        """The orbit the phone's current call is parked at (waits for it)."""
        uuid = phone.channel.uuid

        def find():
            call = self.park.store.by_channel(uuid)
            return call.orbit if call else None
        return until(find, timeout, message=f"{phone.user}'s call never got an orbit")

    def stop(self):
        try:
            self.api.stop(timeout=1)
            self.controller.stop()
        finally:
            self.switch.stop()


@pytest.fixture
def api_site(migrated, base_config):  # noqa: F811
    config = dataclasses.replace(
        base_config, api=dataclasses.replace(base_config.api, heartbeat=1))
    if hasattr(config.call_via_work, "destination_dial_string"):
        config = dataclasses.replace(config, call_via_work=dataclasses.replace(
            config.call_via_work, destination_dial_string=DIRECT))
    site = ApiSite(config, migrated)
    try:
        yield site
    finally:
        site.stop()


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
