"""Call Park through fscontrol against FreeSWITCH's own mod_valet_parking, on the same switch in
the same run (`make bench-live`; the switch is named by FSCONTROL_LIVE_ESL as for
`make test-live`, with tests/live/conf loaded).

The phones driver of the live tests (tests/livephones.py) parks and retrieves N calls each way,
interleaved (one fscontrol cycle, one valet cycle, ...), one at a time:
  fscontrol  Alice dials the park code (*70); Bob dials the orbit her call got
  valet      Alice dials `bench-valet` (valet_park to lot fscontrol_bench, auto in 7500-7599,
             no slot announcement, the same hold music); Bob dials `bench-valet-<slot>`
             (tests/live/conf/dialplan/default.xml)
Park latency: the dial to the caller hearing hold music; retrieve latency: the dial to the two
talking — both as the driver sees them from the switch's events, the same way for both.
valet's announcement of the slot is turned off (it waits 1.5 s for it, mod_valet_parking.c)
because a park by the park code announces nothing either.

Without FSCONTROL_LIVE_ESL the same run goes against the simulated switch: a check that the
harness works, not a figure (`--sim`)."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import uuid as uuidlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))   # the live tests' phones driver and backends

LOT = "fscontrol_bench"


def percentile(values, p):
    from .load import percentile as pct
    return pct(values, p)


def _backend(sim: bool):
    import backends
    if sim:
        return backends.start_sim_backend()
    host, port, password = backends.live_address()
    config = backends.load(backends.LIVE_TOML, env={})
    switch = backends.LiveSwitch(host, port, password, context=config.switch.context).start()
    switch.hangup_all()
    switch.forget_phones(u.extension for u in config.users)
    return backends.Backend("live", switch, host, port, password)


def _database():
    from fscontrol.db import Database
    url = os.environ.get("DATABASE_URL")
    if not url:
        from .pickups import _embedded
        url = _embedded()
    schema = f"bench_{uuidlib.uuid4().hex[:12]}"
    admin = Database(url)
    with admin.connection() as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return admin, schema, Database(url, schema=schema)


def _slot_of(backend, uuid: str, timeout: float = 5.0) -> str:
    """The valet slot holding channel `uuid` (from `valet_info`, mod_valet_parking's XML)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = backend.api("valet_info")
        m = re.search(r'<extension uuid="%s">(\d+)</extension>' % re.escape(uuid), info)
        if m:
            return m.group(1)
        time.sleep(0.02)
    raise RuntimeError(f"valet_info shows no slot for {uuid}")


def cycle(backend, controller, kind: str, alice, bob) -> tuple[float, float]:
    """One park and retrieve; (park ms, retrieve ms)."""
    t0 = time.perf_counter()
    alice.dial(backend.config.park.code if kind == "fscontrol" else "bench-valet")
    alice.wait_for(lambda p: p.hearing() == "music", 10, f"{kind}: the caller hearing hold music")
    park = (time.perf_counter() - t0) * 1000
    if kind == "fscontrol":
        side = backend.switch.switch_side(alice.channel)
        call = None
        deadline = time.monotonic() + 5
        while call is None and time.monotonic() < deadline:
            call = controller.view.by_channel(side.uuid if side else alice.channel.uuid)
        target = call.orbit
    else:
        side = backend.switch.switch_side(alice.channel)
        target = "bench-valet-" + _slot_of(backend, side.uuid if side else alice.channel.uuid)
    t1 = time.perf_counter()
    bob.dial(target)
    bob.wait_for(lambda p: p.connected_to() == alice.user, 10, f"{kind}: the retriever connected")
    retrieve = (time.perf_counter() - t1) * 1000
    bob.hangup()
    alice.hangup()
    alice.wait_idle(10)
    bob.wait_idle(10)
    return park, retrieve


def run(n: int, sim: bool, log=print) -> dict:
    from parkrig import ParkController, migrate
    backend = _backend(sim)
    admin, schema, database = _database()
    controller = None
    out = {"fscontrol": ([], []), "valet": ([], [])}
    try:
        migrate(database)
        controller = ParkController(backend.config, database, "bench-live").start()
        alice, bob = backend.phone("1001"), backend.phone("1002")
        cycle(backend, controller, "fscontrol", alice, bob)      # warm-up, not counted
        cycle(backend, controller, "valet", alice, bob)
        for i in range(n):
            for kind in (("fscontrol", "valet") if i % 2 == 0 else ("valet", "fscontrol")):
                park, retrieve = cycle(backend, controller, kind, alice, bob)
                out[kind][0].append(park)
                out[kind][1].append(retrieve)
    finally:
        if controller is not None:
            controller.stop()
        if backend.sim is None:
            backend.switch.hangup_all()
        backend.switch.stop()
        if backend.sim is not None:
            backend.sim.stop()
        with admin.connection() as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return out


def report(n: int, sim: bool) -> dict:
    where = "the SIMULATED switch (harness check only, not a figure)" if sim else \
        f"FreeSWITCH at {os.environ.get('FSCONTROL_LIVE_ESL')}"
    print(f"(live) park and retrieve, fscontrol vs mod_valet_parking, {n} each, interleaved, on {where}")
    out = run(n, sim)
    rows = {}
    for label, i in (("park (dial -> hold music)", 0), ("retrieve (dial -> talking)", 1)):
        ours, native = out["fscontrol"][i], out["valet"][i]
        r = {"ours_p50": percentile(ours, 50), "ours_p99": percentile(ours, 99),
             "native_p50": percentile(native, 50), "native_p99": percentile(native, 99)}
        r["ratio_p50"] = r["ours_p50"] / r["native_p50"]
        r["ratio_p99"] = r["ours_p99"] / r["native_p99"]
        rows[label] = r
        print(f"    {label:<27} fscontrol p50 {r['ours_p50']:.1f} ms p99 {r['ours_p99']:.1f} ms; "
              f"valet p50 {r['native_p50']:.1f} ms p99 {r['native_p99']:.1f} ms; ratio p50 "
              f"{r['ratio_p50']:.2f} (goal <= 1.5) p99 {r['ratio_p99']:.2f} (goal <= 2)")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.live", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=50,
                        help="parks and retrieves each way (default 50, at least 1)")
    parser.add_argument("--sim", action="store_true",
                        help="run against the simulated switch (a check of the harness)")
    args = parser.parse_args()
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    if not args.sim and not os.environ.get("FSCONTROL_LIVE_ESL"):
        parser.error("no real FreeSWITCH configured: set FSCONTROL_LIVE_ESL=host:port (and "
                     "FSCONTROL_LIVE_PASSWORD), as for `make test-live`, or give --sim")
    report(args.calls, args.sim)


if __name__ == "__main__":
    from gevent import monkey
    monkey.patch_all()
    main()
