"""Call Via Work on the simulated switch: placed calls per second and how long each takes.

One process (the controller `fscontrol run` builds and the simulated FreeSWITCH share its gevent
hub, so the figure is a lower bound for the controller alone), PostgreSQL from `DATABASE_URL`
else an embedded one (benchmarks.pickups). A round: `concurrency` users each place a call to
their own destination at the same moment; every phone answers at once; the round ends when every
placement is connected, then all hang up. Per call: `place()` returning (the policy check and
the originate sent: what an API client waits for) and `place()` to `connected` (the device
answered, the destination dialled, bridged).
"""

from __future__ import annotations

import dataclasses
import logging
import time

from .pickups import _embedded, percentile


def _config(users: int):
    from fscontrol.config import parse
    data = {"switch": {"name": "bench", "domain": "fscontrol.test"},
            "call_via_work": {"rate_limit": 1000,
                              "destination_dial_string": "user/{number}@{domain}"},
            "users": [{"extension": str(2000 + i), "name": f"Caller {i}"} for i in range(users)]
            + [{"extension": str(3000 + i), "name": f"Callee {i}"} for i in range(users)]}
    return parse(data, env={})


def run(concurrency: int, calls: int, url: str | None = None) -> dict:
    import os
    import uuid as uuidlib

    import gevent

    from fscontrol.controller import build, make_client
    from fscontrol.db import Database, upgrade
    from fscontrol.render import contract, render_files
    from fscontrol.render.render import in_context
    from fscontrol.sim import SimSwitch

    config = _config(concurrency)
    dialplan = in_context(render_files(config)[contract.DIALPLAN_FILE], config.switch.context)
    sw = SimSwitch(port=0, context=config.switch.context, domain="fscontrol.test",
                   dialplan=dialplan, heartbeat=0).start()
    config = dataclasses.replace(config, switch=dataclasses.replace(config.switch,
                                                                    esl_port=sw.port))
    url = url or os.environ.get("DATABASE_URL") or _embedded()
    schema = f"bench_{uuidlib.uuid4().hex[:12]}"
    admin = Database(url)
    with admin.connection() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    controller = None
    try:
        database = Database(url, schema=schema)
        with database.connection() as conn:
            upgrade(conn)
        controller = build(config, database, make_client(config, heartbeat_interval=None,
                                                         command_timeout=10), "bench").start()
        if not controller.esl.wait_connected(10):
            raise RuntimeError("the controller did not connect to the simulated switch")
        service = controller.feature("callviawork").service
        pairs = [(sw.register(str(2000 + i)), sw.register(str(3000 + i)))
                 for i in range(concurrency)]
        for a, b in pairs:
            a.auto_answer()
            b.auto_answer()
        returned, connected, busy = [], [], 0.0
        rounds = max(1, calls // concurrency)
        for r in range(rounds + 1):                  # the first round warms up; not counted
            started = {}
            placements = []

            def place(a, b):
                t = time.perf_counter()
                p = service.place(a.user, b.user)
                started[p.id] = t
                if r:
                    returned.append((time.perf_counter() - t) * 1000)
                placements.append(p)
            t0 = time.perf_counter()
            gevent.joinall([gevent.spawn(place, a, b) for a, b in pairs], raise_error=True)
            done = {}
            deadline = time.monotonic() + 30
            while len(done) < len(placements):
                for p in placements:
                    if p.id not in done and p.state.value == "connected":
                        done[p.id] = time.perf_counter()
                    elif p.state.terminal:
                        raise RuntimeError(f"call via work bench: {p.id} {p.outcome}")
                if time.monotonic() > deadline:
                    raise RuntimeError("call via work bench: calls not connected in 30 s")
                gevent.sleep(0.001)
            if r:
                busy += max(done.values()) - t0
                connected += [(done[p.id] - started[p.id]) * 1000 for p in placements]
            for a, _b in pairs:
                a.hangup()
            while any(ph.state != "idle" for pair in pairs for ph in pair):
                sw.wait_changed(0.05)
    finally:
        if controller is not None:
            quiet = logging.getLogger("fscontrol")
            level = quiet.level
            quiet.setLevel(logging.ERROR)
            controller.stop()
            quiet.setLevel(level)
        sw.stop()
        with admin.connection() as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return {"concurrency": concurrency, "calls": len(connected),
            "per_second": len(connected) / busy, "returned": returned, "connected": connected}


def report(concurrency=(1, 10), calls: int = 200) -> None:
    print("(f) Call Via Work on the simulated switch (controller and switch in one process): "
          "placed and connected calls per second")
    for level in concurrency:
        r = run(level, calls)
        ret, con = r["returned"], r["connected"]
        print(f"    {level:>2} at once: {r['per_second']:,.0f} calls/s over {r['calls']}; "
              f"place() returns p50 {percentile(ret, 50):.1f} ms p99 {percentile(ret, 99):.1f} ms; "
              f"-> connected p50 {percentile(con, 50):.1f} ms p99 {percentile(con, 99):.1f} ms")


if __name__ == "__main__":
    from gevent import monkey
    monkey.patch_all()
    report()
