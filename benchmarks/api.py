"""The HTTP API on the simulated switch: request latency p50/p99 with concurrent clients, and
Call Via Work calls placed per second through `POST /api/v1/calls`.

Two processes: this one runs the simulated switch, the controller `fscontrol run` builds and its
HTTP API (one gevent hub, as in `fscontrol run`), on a fresh schema of PostgreSQL
(`DATABASE_URL`, else an embedded one); a fresh interpreter (`python -m benchmarks.api`) is the
HTTP clients (keep-alive connections, one greenlet each), so their CPU is not the controller's.
Run alone with `python -m benchmarks.api`.

Latency: `clients` clients each send `requests` requests, cycling through GET /api/v1/calls
(with one call live), GET /api/v1/calls/{id}, GET /api/v1/parked and GET /healthz; each timed
from send to the whole response read, by the client.
Placements: `calls` users each place one call at the same moment (an admin token naming the
user); every user's phone and every destination answers at once; calls per second = calls /
(first POST sent to the last placement seen `connected` by polling GET /api/v1/calls/{id}).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from .pickups import _embedded, percentile

ROOT = Path(__file__).resolve().parents[1]
PATHS = ("/api/v1/calls", "/api/v1/calls/{id}", "/api/v1/parked", "/healthz")


def config_text(users: int) -> str:
    """`users` callers 2000.. and as many destinations 4000.., Call Via Work dialling the
    destinations' phones straight (no loopback leg) and allowing them all a call a second."""
    import dataclasses
    from fscontrol.config.model import CallViaWorkConfig
    parts = ['[switch]\nname = "bench"\ndomain = "fscontrol.test"\n',
             '[[orbits]]\nname = "park"\nkind = "park"\nstart = "7000"\nend = "7099"\n']
    if "destination_dial_string" in {f.name for f in dataclasses.fields(CallViaWorkConfig)}:
        parts.append('[call_via_work]\ndestination_dial_string = "user/{number}@{domain}"\n'
                     'rate_limit = 1000\n')
    for i in range(users):
        parts.append(f'[[users]]\nextension = "{2000 + i}"\nname = "Caller {2000 + i}"\n')
        parts.append(f'[[users]]\nextension = "{4000 + i}"\nname = "Callee {4000 + i}"\n')
    return "\n".join(parts)


# -- the clients (the child process) ---------------------------------------------------------
def client_main(spec: str) -> None:
    from gevent import monkey
    monkey.patch_all()
    import gevent
    import requests

    job = json.loads(spec)
    base, token = job["base"], job["token"]
    out: dict = {}

    def session():
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        return s

    if job["mode"] == "latency":
        times = {p: [] for p in PATHS}

        def worker(n):
            s = session()
            for i in range(job["requests"]):
                path = PATHS[(i + n) % len(PATHS)]
                started = time.perf_counter()
                r = s.get(base + path.replace("{id}", job["call_id"]), timeout=10)
                times[path].append((time.perf_counter() - started) * 1000)
                if r.status_code != 200:
                    raise SystemExit(f"{path}: {r.status_code} {r.text}")
        started = time.perf_counter()
        gevent.joinall([gevent.spawn(worker, n) for n in range(job["clients"])], raise_error=True)
        out = {"times": times, "seconds": time.perf_counter() - started}
    else:
        posts, connected = [], {}

        def place(user, destination):
            s = session()
            started = time.perf_counter()
            r = s.post(base + "/api/v1/calls", json={"destination": destination, "user": user},
                       timeout=10)
            posts.append((time.perf_counter() - started) * 1000)
            if r.status_code != 202:
                raise SystemExit(f"POST /api/v1/calls: {r.status_code} {r.text}")
            call_id = r.json()["id"]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                got = s.get(base + f"/api/v1/calls/{call_id}", timeout=10).json()
                if (got.get("placement") or {}).get("state") == "connected":
                    connected[call_id] = time.perf_counter()
                    return
                gevent.sleep(0.005)
            raise SystemExit(f"{call_id} never connected: {got}")
        started = time.perf_counter()
        gevent.joinall([gevent.spawn(place, u, d) for u, d in job["pairs"]], raise_error=True)
        out = {"posts": posts, "seconds": max(connected.values()) - started}
    print(json.dumps(out), flush=True)


# -- the controller, the switch and the API (this process) -----------------------------------
def _database_url(url: str | None = None) -> str:
    import os
    return url or os.environ.get("DATABASE_URL") or _embedded()


def _clients(job: dict) -> dict:
    # gevent's subprocess: the controller and the switch keep running while the clients work
    import gevent.subprocess as gsub
    proc = gsub.run([sys.executable, "-m", "benchmarks.api", "client", json.dumps(job)], cwd=ROOT,
                    capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"the API clients failed: {proc.stderr.strip() or proc.stdout}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(clients: int, requests: int, calls: int, url: str | None = None) -> dict:
    import dataclasses
    import uuid as uuidlib

    import gevent

    from fscontrol.api.server import ApiServer
    from fscontrol.config import load
    from fscontrol.controller import build, make_client
    from fscontrol.db import Database, upgrade
    from fscontrol.render import contract, render_files
    from fscontrol.render.render import in_context
    from fscontrol.sim import SimSwitch

    url = _database_url(url)
    schema = f"bench_{uuidlib.uuid4().hex[:12]}"
    admin = Database(url)
    with admin.connection() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    switch = controller = api = None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(config_text(max(calls, 2)))
        config = load(path, env={})
    try:
        dialplan = in_context(render_files(config)[contract.DIALPLAN_FILE], config.switch.context)
        switch = SimSwitch(port=0, context=config.switch.context, domain="fscontrol.test",
                           dialplan=dialplan, heartbeat=0).start()
        config = dataclasses.replace(config, switch=dataclasses.replace(config.switch,
                                                                        esl_port=switch.port))
        database = Database(url, schema=schema)
        with database.connection() as conn:
            upgrade(conn)
        esl = make_client(config, heartbeat_interval=None, command_timeout=10)
        controller = build(config, database, esl, "bench").start()
        if not esl.wait_connected(10):
            raise RuntimeError("the controller did not connect to the simulated switch")
        api = ApiServer(config, database, listen="127.0.0.1:0").start()
        api.controller = controller
        token, _ = api.context.tokens.create(None, admin=True, label="bench")
        phones = {u.extension: switch.register(u.extension, u.name) for u in config.users}
        for phone in phones.values():
            phone.auto_answer()
        # one live call (2000 -> 4000) for the GET /calls/{id} requests
        phones["2000"].dial("4000")
        phones["2000"].wait_connected(to="4000", timeout=5)
        tracker = controller.feature("calls").tracker
        deadline = time.monotonic() + 5
        while not tracker.snapshot("2000") and time.monotonic() < deadline:
            gevent.sleep(0.01)
        live = tracker.snapshot("2000")[0]["id"]
        result = {"latency": _clients({"mode": "latency", "base": api.url, "token": token,
                                       "clients": clients, "requests": requests,
                                       "call_id": live})}
        phones["2000"].hangup()
        if calls and controller.feature("callviawork") is not None:
            pairs = [(str(2000 + i), str(4000 + i)) for i in range(calls)]
            result["placed"] = _clients({"mode": "place", "base": api.url, "token": token,
                                         "pairs": pairs})
        return result
    finally:
        if api is not None:
            api.stop(timeout=1)
        if controller is not None:
            controller.stop()
        if switch is not None:
            switch.stop()
        with admin.connection() as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def report(levels=(1, 8), requests: int = 400, calls: int = 50) -> None:
    print(f"(g) HTTP API on the simulated switch (its clients in another process, keep-alive "
          f"connections; {requests} requests a client)")
    placed = None
    for clients in levels:
        r = run(clients, requests, calls if clients == levels[-1] else 0)
        times = r["latency"]["times"]
        every = [t for ts in times.values() for t in ts]
        each = ", ".join(f"{path.rsplit('/', 1)[-1] if '{' not in path else 'calls/{id}'} "
                         f"{percentile(ts, 99):.1f}" for path, ts in times.items())
        print(f"    {clients:>2} client(s): {len(every) / r['latency']['seconds']:,.0f} requests/s, "
              f"p50 {percentile(every, 50):.1f} ms p99 {percentile(every, 99):.1f} ms "
              f"(p99 ms by route: {each})")
        placed = r.get("placed", placed)
    if placed is None:
        print("    placements: Call Via Work is not in this build")
        return
    posts = placed["posts"]
    print(f"    {calls} Call Via Work calls placed at once through POST /api/v1/calls: "
          f"{calls / placed['seconds']:,.0f} connected/s (both phones answered, bridged); the "
          f"POST answered p50 {percentile(posts, 50):.1f} ms p99 {percentile(posts, 99):.1f} ms")


if __name__ == "__main__":      # `python -m benchmarks.api`: this figure alone
    if sys.argv[1:2] == ["client"]:
        client_main(sys.argv[2])
    else:
        from gevent import monkey
        monkey.patch_all()
        import logging
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        report()
