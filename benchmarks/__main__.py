"""`make bench`: events/s of raw greenswitch vs fscontrol's pipeline over the same recorded mix,
the time `fscontrol check` takes on a config with thousands of orbit ranges, and group pickups
per second on the simulated switch.

Prints the median of several runs for (a) greenswitch's InboundESL with a no-op handler and
(b) fscontrol's pipeline (typed events + channel registry + per-channel dispatch), and b/a;
(c) seconds to load, validate and render 5,000 single-orbit ranges; and (d) pickups per second
with the p50/p99 latency from the picker's CHANNEL_PARK to the controller's intercept and to the
picker bridged (benchmarks/pickups.py; needs PostgreSQL: DATABASE_URL, else an embedded one);
(e) sustained park/retrieve cycles offered at fixed rates to `fscontrol run` (benchmarks/load.py),
with decision latency p50/p99, CPU per 1,000 cycles, lost calls and the rate where it breaks;
(f) Call Via Work calls placed and connected per second on the simulated switch, with the
latency of `place()` returning and of the call connected (benchmarks/callviawork.py);
(g) the HTTP API's request latency p50/p99 with 1 and 8 clients in another process, and Call
Via Work calls placed per second through POST /api/v1/calls (benchmarks/api.py).

Everything printed is also written to build/bench/report.txt, with the plot of (e) beside it
(build/bench/load-latency.png, when matplotlib from the `bench` extra is installed).
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
import greenswitch  # noqa: E402

from . import api, blaster, callviawork, load, pickups, ranges  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "build" / "bench"


def counter(count: int):
    """A no-op handler that counts events, and the Event set once `count` were seen."""
    seen = [0]
    done = gevent.event.Event()

    def handler(event):
        seen[0] += 1
        if seen[0] >= count:
            done.set()

    return handler, done, seen


def raw_greenswitch(port: int, count: int) -> float:
    """Seconds for greenswitch alone to read and dispatch `count` events to a no-op handler."""
    handler, done, seen = counter(count)
    esl = greenswitch.InboundESL(host="127.0.0.1", port=port, password="ClueCon")
    esl.connect()
    esl.register_handle("*", handler)
    start = time.perf_counter()
    esl.send("event plain ALL")
    if not done.wait(timeout=300):
        raise RuntimeError(f"greenswitch saw {seen[0]} of {count} events")
    elapsed = time.perf_counter() - start
    esl._run = False  # greenswitch has no clean close for a connection that is mid-stream
    esl.sock.shutdown(socket.SHUT_RDWR)
    esl.sock.close()
    return elapsed


def pipeline(port: int, count: int) -> float:
    """Seconds for fscontrol's EslClient to parse, type, register and dispatch `count` events."""
    from fscontrol.esl import EslClient

    handler, done, seen = counter(count)
    client = EslClient("127.0.0.1", port, "ClueCon", events=["ALL"])
    client.on("*", handler)
    start = time.perf_counter()
    client.start()
    if not done.wait(timeout=300):
        raise RuntimeError(f"fscontrol saw {seen[0]} of {count} events")
    elapsed = time.perf_counter() - start
    client.stop()
    return elapsed


def measure(fn, count: int, runs: int, commands: int) -> list[float]:
    proc, port = blaster.start(count, runs, commands)
    try:
        return [count / fn(port, count) for _ in range(runs)]
    finally:
        proc.wait(timeout=10)


class Tee:
    """Print to the terminal and to the report file at once."""

    def __init__(self, stream, path: Path):
        self.stream, self.file = stream, open(path, "w")

    def write(self, text: str) -> int:
        self.file.write(text)
        self.file.flush()
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="events per run (default 200,000)")
    parser.add_argument("--runs", type=int, default=5, help="runs per contender (default 5)")
    parser.add_argument("--ranges", type=int, default=5000,
                        help="orbit ranges in the config-check figure (default 5,000)")
    parser.add_argument("--pickups", type=int, default=500,
                        help="pickups per concurrency level in the pickup figure (default 500)")
    parser.add_argument("--concurrency", default="1,10",
                        help="pickups at once, comma-separated levels (default 1,10)")
    parser.add_argument("--rates", default="25,50,100,150,200,300,400",
                        help="offered park/retrieve cycles per second in the load figure, in "
                             "order; it stops at the first rate past the limit "
                             "(default 25,50,100,150,200,300,400)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="seconds each load rate is offered (default 10)")
    parser.add_argument("--calls", type=int, default=200,
                        help="Call Via Work calls per concurrency level (default 200)")
    parser.add_argument("--only", choices=("events", "check", "pickup", "load", "callviawork",
                                            "api"),
                        help="run only the event pipeline, the config check, the pickup, the "
                             "load or the Call Via Work figure")
    args = parser.parse_args()
    try:
        rates = [float(r) for r in args.rates.split(",")]
    except ValueError:
        parser.error(f"--rates: {args.rates!r} is not a comma-separated list of numbers")
    if any(r <= 0 for r in rates) or args.seconds <= 0:
        parser.error("--rates and --seconds must be above 0")
    OUT.mkdir(parents=True, exist_ok=True)
    sys.stdout = Tee(sys.stdout, OUT / "report.txt")
    try:
        levels = tuple(int(c) for c in args.concurrency.split(","))
    except ValueError:
        parser.error(f"--concurrency: {args.concurrency!r} is not a comma-separated list of numbers")
    if any(c < 1 for c in levels) or args.pickups < 1:
        parser.error("--concurrency levels and --pickups must be at least 1")
    if args.only in (None, "check"):
        ranges.report(args.ranges)
    if args.only in (None, "pickup"):
        pickups.report(levels, args.pickups)
    if args.only in (None, "load"):
        load.report(rates, args.seconds, OUT)
    if args.only in (None, "callviawork"):
        callviawork.report(levels, max(1, args.calls))
    if args.only in (None, "api"):
        api.report()
    if args.only in ("check", "pickup", "load", "callviawork", "api"):
        return
    mix = blaster.recorded_events()
    print(f"event mix: {len(mix)} recorded events from tests/fs_traces, cycled to {args.events:,} per run")
    raw = measure(raw_greenswitch, args.events, args.runs, commands=2)
    print(f"(a) greenswitch, no-op handler: median {statistics.median(raw):,.0f} events/s "
          f"(runs: {', '.join(f'{r:,.0f}' for r in raw)})")
    ours = measure(pipeline, args.events, args.runs, commands=3)
    print(f"(b) fscontrol pipeline:         median {statistics.median(ours):,.0f} events/s "
          f"(runs: {', '.join(f'{r:,.0f}' for r in ours)})")
    ratio = statistics.median(ours) / statistics.median(raw)
    print(f"b/a = {ratio:.2f} (goal >= 0.5)")


if __name__ == "__main__":
    main()
