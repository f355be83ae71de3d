"""Sustained Call Park load on the simulated switch: park/retrieve cycles offered at fixed rates
to `fscontrol run`, until the controller cannot keep up.

Three programs, as in production: the controller is `fscontrol run --config <bench.toml>` in its
own process (PostgreSQL: `DATABASE_URL` in a fresh schema, else the embedded one the config
names); the load generator is another process (`python -m benchmarks.load`) that runs the
simulated FreeSWITCH with the rendered dialplan and its virtual phones, and offers cycles
open-loop (a new cycle every 1/rate s, whether or not earlier ones are done).

A cycle: a phone dials the park code; once it hears hold music, another phone dials the orbit
the caller was parked at (read from the channel's `fscontrol_parked` tag); once the two talk,
both hang up. Per cycle, measured at the switch (one clock):
  park      the caller's CHANNEL_PARK at the park code -> the controller's `uuid_broadcast` of
            its hold music arriving (orbit allocated in PostgreSQL, channel tagged, music asked)
  retrieve  the retriever's CHANNEL_PARK at the orbit -> the controller's `uuid_bridge` arriving
A cycle not complete 10 s after its level ends is lost. CPU: the controller process's user +
system seconds over the level (from /proc), per 1,000 cycles.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CALLERS, RETRIEVERS = 3000, 6000       # first number of each phone pool
POOL = 2000                            # phones a pool (enough for 10 s of cycles in flight)
SETTLE = 10.0                          # seconds after a level for its last cycles to finish


def config_text(embedded_dir: str) -> str:
    return "\n".join([
        '[switch]\nname = "bench-load"\ndomain = "fscontrol.test"\n',
        f'[database]\nembedded_dir = "{embedded_dir}"\n',
        '[ha]\nstep_down_after = 1\n',
        '[park]\ntimeout = 600\nsend_message = false\n',      # no ring-back within a run
        '[[users]]\nextension = "1001"\nname = "Bench"\n',
        '[[orbits]]\nname = "main"\nkind = "park"\nstart = "7000"\nend = "7999"\n',
    ])


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -- the load generator: the switch and its phones (the child process) ------------------------
def generator_main(config_path: str) -> None:
    from gevent import monkey
    monkey.patch_all()
    import gevent

    from fscontrol.config import load
    from fscontrol.render import contract, render_files
    from fscontrol.render.render import in_context
    from fscontrol.sim import SimSwitch

    config = load(Path(config_path), env={})
    code = config.park.code
    dialplan = in_context(render_files(config)[contract.DIALPLAN_FILE], config.switch.context)
    sw = SimSwitch(port=0, context=config.switch.context, domain="fscontrol.test",
                   dialplan=dialplan, heartbeat=0).start()
    parked_at: dict[str, float] = {}     # channel uuid -> its CHANNEL_PARK (s)
    commands: dict[tuple[str, str], float] = {}   # (command, first argument) -> arrival (s)

    def on_event(ev):
        if ev.name == "CHANNEL_PARK":
            parked_at.setdefault(ev.get("Unique-ID"), int(ev.get("Event-Date-Timestamp")) / 1e6)
        elif ev.name == "API" and ev.get("API-Command") in ("uuid_broadcast", "uuid_bridge"):
            first = (ev.get("API-Command-Argument") or "").split(" ", 1)[0]
            commands.setdefault((ev.get("API-Command"), first),
                                int(ev.get("Event-Date-Timestamp")) / 1e6)
    sw.add_listener(on_event)
    callers = [sw.register(str(CALLERS + i)) for i in range(POOL)]
    retrievers = [sw.register(str(RETRIEVERS + i)) for i in range(POOL)]
    print(json.dumps({"port": sw.port}), flush=True)

    def cycle(caller, retriever, out):
        try:
            ch = caller.dial(code)
            # the music, then the orbit tag (set right after it)
            if not sw.wait_until(lambda: caller.hearing() == "music"
                                 and ch.vars.get("fscontrol_parked"), 20):
                return
            orbit = ch.vars["fscontrol_parked"].split("/")[0]
            rch = retriever.dial(orbit)
            if not sw.wait_until(lambda: retriever.connected_to() == caller.user, 20):
                return
            out["park"].append((commands[("uuid_broadcast", ch.uuid)] - parked_at[ch.uuid]) * 1000)
            out["retrieve"].append((commands[("uuid_bridge", rch.uuid)] - parked_at[rch.uuid]) * 1000)
            out["done"] += 1
            out["last"] = time.time()
        finally:
            caller.hangup()
            retriever.hangup()
            sw.wait_until(lambda: caller.state == "idle" and retriever.state == "idle", 20)
            free.append((caller, retriever))

    free = list(zip(callers, retrievers))

    def level(rate: float, seconds: float) -> dict:
        out = {"park": [], "retrieve": [], "done": 0, "last": None}
        count = int(rate * seconds)
        start = time.time()
        started = 0
        for i in range(count):
            delay = start + i / rate - time.time()
            if delay > 0:
                gevent.sleep(delay)
            if not free:
                break                      # every phone is busy: the controller fell behind
            caller, retriever = free.pop(0)
            gevent.spawn(cycle, caller, retriever, out)
            started += 1
        offered_end = time.time()
        deadline = offered_end + SETTLE
        while out["done"] < started and time.time() < deadline:
            gevent.sleep(0.05)
        last = out["last"] or offered_end
        return {"rate": rate, "offered": count, "started": started, "done": out["done"],
                "lost": count - out["done"], "seconds": last - start,
                "park": out["park"], "retrieve": out["retrieve"]}

    # commands on stdin, read in a thread: a blocking read would stop the hub and the switch
    while True:
        line = gevent.get_hub().threadpool.apply(sys.stdin.readline).split()
        if not line or line[0] == "quit":
            break
        result = level(float(line[1]), float(line[2]))
        parked_at.clear()
        commands.clear()
        print(json.dumps(result), flush=True)
    sw.stop()


# -- the benchmark (this process) --------------------------------------------------------------
def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class Rig:
    """The controller process and the load generator process, both started."""

    def __init__(self, database_url: str | None):
        import uuid as uuidlib
        self.tmp = tempfile.TemporaryDirectory(prefix="fscontrol-bench-")
        self.config = Path(self.tmp.name) / "bench.toml"
        self.config.write_text(config_text(str(Path(self.tmp.name) / "pg")))
        self.gen = subprocess.Popen([sys.executable, "-m", "benchmarks.load", str(self.config)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                    cwd=ROOT)
        line = self.gen.stdout.readline()
        if not line:
            raise RuntimeError("the load generator did not start (see its error above)")
        port = json.loads(line)["port"]
        self.config.write_text(self.config.read_text().replace(
            'name = "bench-load"', f'name = "bench-load"\nesl_port = {port}'))
        env = dict(os.environ)
        self.admin = self.schema = None
        if database_url:
            from fscontrol.db import Database
            self.schema = f"bench_{uuidlib.uuid4().hex[:12]}"
            self.admin = Database(database_url)
            with self.admin.connection() as conn:
                conn.execute(f"CREATE SCHEMA {self.schema}")
            sep = "&" if "?" in database_url else "?"
            env["DATABASE_URL"] = f"{database_url}{sep}options=-csearch_path%3D{self.schema}"
        else:
            env.pop("DATABASE_URL", None)
        # its log goes to a file: a pipe nobody reads would fill and stop the controller
        self.log_path = Path(self.tmp.name) / "controller.log"
        self._log = open(self.log_path, "w")
        self.controller = subprocess.Popen(
            [sys.executable, "-m", "fscontrol", "run", "--config", str(self.config)],
            env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, text=True)

    def level(self, rate: float, seconds: float) -> dict:
        if self.controller.poll() is not None:
            raise RuntimeError(f"fscontrol run exited: {self.log_tail()}")
        before = _cpu_seconds(self.controller.pid)
        gen_before = _cpu_seconds(self.gen.pid)
        self.gen.stdin.write(f"level {rate} {seconds}\n")
        self.gen.stdin.flush()
        line = self.gen.stdout.readline()
        if not line:
            raise RuntimeError("the load generator ended without results")
        result = json.loads(line)
        result["cpu"] = _cpu_seconds(self.controller.pid) - before
        result["gen_cpu"] = _cpu_seconds(self.gen.pid) - gen_before
        return result

    def log_tail(self) -> str:
        return self.log_path.read_text()[-2000:]

    def close(self) -> None:
        self.controller.send_signal(signal.SIGTERM)
        try:
            self.controller.wait(15)
        except subprocess.TimeoutExpired:
            self.controller.kill()
            self.controller.wait(5)
        try:
            self.gen.stdin.write("quit\n")
            self.gen.stdin.close()
            self.gen.wait(10)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.gen.kill()
        if self.admin is not None:
            with self.admin.connection() as conn:
                conn.execute(f"DROP SCHEMA {self.schema} CASCADE")
        self._log.close()
        self.tmp.cleanup()


def summarise(r: dict) -> dict:
    done = max(r["done"], 1)
    return {"rate": r["rate"], "achieved": r["done"] / r["seconds"] if r["seconds"] else 0.0,
            "done": r["done"], "lost": r["lost"],
            "park_p50": percentile(r["park"], 50), "park_p99": percentile(r["park"], 99),
            "retrieve_p50": percentile(r["retrieve"], 50),
            "retrieve_p99": percentile(r["retrieve"], 99),
            "cpu_per_1000": r["cpu"] / done * 1000,
            "gen_cpu_per_1000": r["gen_cpu"] / done * 1000}


def run(rates: list[float], seconds: float, database_url: str | None, limit_ms: float = 100.0,
        log=print) -> list[dict]:
    """Each rate in turn for `seconds` after a warm-up, stopping at the first rate where p99 of
    either decision passes `limit_ms` or a cycle is lost (the limit)."""
    rig = Rig(database_url)
    rows = []
    try:
        warm = rig.level(5, 4)            # the controller's standby wait and first connections
        if warm["done"] == 0:
            raise RuntimeError(f"no warm-up cycle completed; the controller's log: {rig.log_tail()}")
        for rate in rates:
            row = summarise(rig.level(rate, seconds))
            rows.append(row)
            log(format_row(row))
            if row["lost"] or max(row["park_p99"], row["retrieve_p99"]) > limit_ms:
                warnings = [line for line in rig.log_tail().splitlines() if "WARNING" in line
                            or "ERROR" in line]
                if warnings:
                    log("controller's last warnings: " + " | ".join(warnings[-3:]))
                break
    finally:
        rig.close()
    return rows


HEADER = ("offered/s  achieved/s  cycles  lost  park p50/p99 ms  retrieve p50/p99 ms  "
          "CPU s/1000 cycles: controller (switch+phones)")


def format_row(r: dict) -> str:
    return (f"{r['rate']:>9.0f}  {r['achieved']:>10.1f}  {r['done']:>6}  {r['lost']:>4}  "
            f"{r['park_p50']:>7.1f} / {r['park_p99']:<6.1f}  {r['retrieve_p50']:>8.1f} / "
            f"{r['retrieve_p99']:<8.1f}  {r['cpu_per_1000']:>8.2f} ({r['gen_cpu_per_1000']:.2f})")


def limit_of(rows: list[dict], limit_ms: float = 100.0) -> str:
    for r in rows:
        if r["lost"] or max(r["park_p99"], r["retrieve_p99"]) > limit_ms:
            why = (f"{r['lost']} cycle(s) lost" if r["lost"]
                   else f"p99 {max(r['park_p99'], r['retrieve_p99']):.0f} ms > {limit_ms:.0f} ms")
            return f"limit: {r['rate']:.0f} cycles/s offered ({why})"
    return f"limit: above {rows[-1]['rate']:.0f} cycles/s offered (not reached)" if rows else "no rows"


def plot(rows: list[dict], path: Path) -> Path | None:
    """A small PNG of decision latency against offered rate (matplotlib: the `bench` extra)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rates = [r["rate"] for r in rows]
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    for key, label, style in (("park_p50", "park p50", "-o"), ("park_p99", "park p99", "--o"),
                              ("retrieve_p50", "retrieve p50", "-s"),
                              ("retrieve_p99", "retrieve p99", "--s")):
        ax.plot(rates, [r[key] for r in rows], style, label=label, markersize=3)
    ax.axhline(20, color="grey", linewidth=0.8, linestyle=":")
    ax.set_yscale("log")
    ax.set_xlabel("offered park/retrieve cycles per second")
    ax.set_ylabel("decision latency (ms)")
    ax.set_title("fscontrol run, simulated switch, 2 cores", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def report(rates: list[float], seconds: float, out_dir: Path) -> list[dict]:
    url = os.environ.get("DATABASE_URL") or None
    print(f"(e) sustained Call Park load: `fscontrol run` against the simulated switch in a load "
          f"generator process, PostgreSQL {'server (DATABASE_URL)' if url else 'embedded'}; "
          f"{seconds:g} s a rate; goal 100 cycles/s with p99 < 20 ms")
    print("    " + HEADER)
    rows = run(rates, seconds, url, log=lambda line: print("    " + line, flush=True))
    print("    " + limit_of(rows))
    png = plot(rows, out_dir / "load-latency.png")
    print(f"    plot: {png}" if png else "    (no plot: install the bench extra, "
                                          "pip install -e '.[bench]')")
    return rows


if __name__ == "__main__":
    generator_main(sys.argv[1])
