"""Group Call Pickup on the simulated switch: pickups per second and how long each decision takes.

Two processes, as a controller and its switch are: this one runs the controller `fscontrol run`
builds (Call Park and Group Call Pickup) against a fresh schema of PostgreSQL (`DATABASE_URL`,
else an embedded one); a fresh interpreter (`python -m benchmarks.pickups`, like the event
blaster) runs the simulated FreeSWITCH with the rendered dialplan and its virtual phones.

A round: in each of `concurrency` groups a caller rings one member; once every member's phone
rings, another member of each group dials the group number at the same moment; the round ends
when every caller talks to its picker. Pickups per second = pickups / the summed duration of the
rounds (first picker dialling to last caller connected). Per pickup, two latencies:
  decision  the picker's CHANNEL_PARK (the switch's Event-Date-Timestamp) to the controller
            sending its `intercept` (group membership read from PostgreSQL, the registry
            searched, `intercept_unanswered_only` set on the picker);
  bridged   the same CHANNEL_PARK to the picker's CHANNEL_BRIDGE (both the switch's clock).
Both processes read the same host clock. Lync's reference: a pool handles 200 pickups a minute.
"""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = 2          # per group: the member whose phone rings and the member who picks up
LYNC_PER_MINUTE = 200


def config_text(groups: int) -> str:
    """`groups` pickup groups *8001.. of two members (2000+2g rings, 2001+2g picks up) and one
    caller per group (3000+g), in no group."""
    parts = ['[switch]\nname = "bench"\ndomain = "fscontrol.test"\n',
             '[[orbits]]\nname = "park"\nkind = "park"\nstart = "7000"\nend = "7099"\n',
             '[[orbits]]\nname = "pickup"\nkind = "pickup"\nstart = "*8001"\nend = "*8999"\n']
    for g in range(groups):
        members = [str(2000 + MEMBERS * g + i) for i in range(MEMBERS)]
        parts += [f'[[users]]\nextension = "{m}"\nname = "Member {m}"\n' for m in members]
        parts.append(f'[[users]]\nextension = "{3000 + g}"\nname = "Caller {3000 + g}"\n')
        parts.append(f'[[pickup_groups]]\nnumber = "*{8001 + g}"\nmembers = {json.dumps(members)}\n')
    return "\n".join(parts)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -- the switch and its phones (the child process) ------------------------------------------
def switch_main(config_path: str, groups: int, rounds: int) -> None:
    from gevent import monkey
    monkey.patch_all()
    import gevent

    from fscontrol.config import load
    from fscontrol.render import contract, render_files
    from fscontrol.render.render import in_context
    from fscontrol.sim import SimSwitch

    config = load(Path(config_path), env={})
    dialplan = in_context(render_files(config)[contract.DIALPLAN_FILE], config.switch.context)
    sw = SimSwitch(port=0, context=config.switch.context, domain="fscontrol.test",
                   dialplan=dialplan, heartbeat=0).start()
    parked, bridged = {}, {}

    def on_event(ev):
        if ev.name == "CHANNEL_PARK" and ev.get("variable_fscontrol_action") == "pickup":
            parked[ev.get("Unique-ID")] = int(ev.get("Event-Date-Timestamp")) / 1e6
        elif ev.name == "CHANNEL_BRIDGE" and ev.get("Bridge-A-Unique-ID") in parked:
            bridged.setdefault(ev.get("Bridge-A-Unique-ID"), int(ev.get("Event-Date-Timestamp")) / 1e6)
    sw.add_listener(on_event)
    print(json.dumps({"port": sw.port}), flush=True)
    # read in a thread: a blocking read would stop the hub, and the switch with it
    if gevent.get_hub().threadpool.apply(sys.stdin.readline).strip() != "go":
        return

    phones = []
    for g in range(groups):
        ringing, picker = (sw.register(str(2000 + MEMBERS * g + i)) for i in range(MEMBERS))
        phones.append((sw.register(str(3000 + g)), ringing, picker, f"*{8001 + g}"))

    def until(condition, what, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"pickup bench: timed out waiting for {what}")
            sw.wait_changed(0.05)

    rounds_out = []
    for _ in range(rounds + 1):                       # the first round warms up; not counted
        for caller, ringing, _picker, _number in phones:
            caller.dial(ringing.user)
        until(lambda: all(r.ringing_call() is not None for _c, r, _p, _n in phones), "ringing")
        start = time.time()
        for _caller, _ringing, picker, number in phones:
            picker.dial(number)
        until(lambda: all(c.connected_to() == p.user for c, _r, p, _n in phones), "the pickups")
        rounds_out.append((start, time.time()))
        for caller, *_ in phones:
            caller.hangup()
        until(lambda: all(ph.state == "idle" for group in phones for ph in group[:3]), "idle")
    print(json.dumps({"rounds": rounds_out[1:], "parked": parked, "bridged": bridged}), flush=True)
    gevent.get_hub().threadpool.apply(sys.stdin.readline)   # until the controller has stopped
    sw.stop()


# -- the controller (this process) ----------------------------------------------------------
_EMBEDDED: list[str] = []


def _embedded() -> str:
    """One embedded PostgreSQL for this process, its data deleted when the process exits."""
    if not _EMBEDDED:
        from fscontrol.db.connect import embedded_url
        _EMBEDDED.append(embedded_url(Path(tempfile.mkdtemp(prefix="fscontrol-bench-")) / "pg",
                                      cleanup="delete"))
    return _EMBEDDED[0]


def run(groups: int, rounds: int, url: str | None = None) -> dict:
    """One measurement: `rounds` rounds of `groups` concurrent pickups, on the PostgreSQL at
    `url` (else DATABASE_URL, else an embedded one). Returns the figures."""
    import dataclasses
    import os
    import uuid as uuidlib

    from fscontrol.config import load
    from fscontrol.controller import build, make_client
    from fscontrol.db import Database, upgrade

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.toml"
        path.write_text(config_text(groups))
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.pickups", str(path), str(groups),
                                 str(rounds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, cwd=ROOT)
        controller = None
        url = url or os.environ.get("DATABASE_URL") or _embedded()
        schema = f"bench_{uuidlib.uuid4().hex[:12]}"
        admin = Database(url)
        with admin.connection() as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the simulated switch did not start (see its error above)")
            port = json.loads(line)["port"]
            database = Database(url, schema=schema)
            with database.connection() as conn:
                upgrade(conn)
            config = load(path, env={})
            config = dataclasses.replace(config, switch=dataclasses.replace(config.switch, esl_port=port))
            esl = make_client(config, heartbeat_interval=None, command_timeout=10)
            intercepts = {}
            send = esl.sendmsg

            def sendmsg(uuid, app, *args, **kw):
                if app == "intercept":
                    intercepts.setdefault(uuid, time.time())
                return send(uuid, app, *args, **kw)
            esl.sendmsg = sendmsg
            controller = build(config, database, esl, "bench").start()
            if not esl.wait_connected(10):
                raise RuntimeError("the controller did not connect to the simulated switch")
            proc.stdin.write("go\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the simulated switch ended without results")
            out = json.loads(line)
        finally:
            if controller is not None:
                # BLF re-checks already spawned by the last events outlive stop() and warn that
                # the socket is gone: not part of the figure
                quiet = logging.getLogger("fscontrol")
                level = quiet.level
                quiet.setLevel(logging.ERROR)
                controller.stop()
                quiet.setLevel(level)
            proc.stdin.close()                   # the switch stops once the controller has
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            with admin.connection() as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
    parked, bridged = out["parked"], out["bridged"]
    counted = out["rounds"][0][0]                # the warm-up round's pickups are left out
    picked = [u for u in bridged if u in intercepts and parked[u] >= counted]
    busy = sum(end - start for start, end in out["rounds"])
    return {
        "concurrency": groups,
        "pickups": len(out["rounds"]) * groups,
        "per_second": len(out["rounds"]) * groups / busy,
        "decision": [(intercepts[u] - parked[u]) * 1000 for u in picked],
        "bridged": [(bridged[u] - parked[u]) * 1000 for u in picked],
    }


def report(concurrency=(1, 10), pickups: int = 500) -> None:
    print(f"(d) group pickup on the simulated switch (controller and switch in two processes; "
          f"Lync: {LYNC_PER_MINUTE} a minute = {LYNC_PER_MINUTE / 60:.1f}/s a pool)")
    for groups in concurrency:
        r = run(groups, max(1, pickups // groups))
        d, b = r["decision"], r["bridged"]
        print(f"    {groups:>2} at once: {r['per_second']:,.0f} pickups/s "
              f"({r['per_second'] * 60 / LYNC_PER_MINUTE:,.0f}x Lync's pool) over {r['pickups']}; "
              f"CHANNEL_PARK -> intercept sent p50 {percentile(d, 50):.1f} ms "
              f"p99 {percentile(d, 99):.1f} ms; -> picker bridged p50 {percentile(b, 50):.1f} ms "
              f"p99 {percentile(b, 99):.1f} ms")


if __name__ == "__main__":
    switch_main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
