"""`python -m benchmarks.readme [REPORT]`: the README's benchmark tables (each between its
`<!-- NAME -->` and `<!-- /NAME -->` markers) and docs/bench-load-latency.png, from one
`make bench` report (build/bench/report.txt by default), so the README's figures are those of
one run of the committed code."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LOAD_ROW = re.compile(r"^\s+(\d+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+([\d.]+) / ([\d.]+)\s+([\d.]+) / "
                      r"([\d.]+)\s+([\d.]+) \(([\d.]+)\)", re.M)
PICKUP = (r"{n} at once: ([\d,]+) pickups/s.*?intercept sent p50 ([\d.]+) ms p99 ([\d.]+) ms; "
          r"-> picker bridged p50 ([\d.]+) ms p99 ([\d.]+) ms")


def _find(log: str, pattern: str) -> re.Match:
    m = re.search(pattern, log)
    if m is None:
        raise SystemExit(f"benchmarks.readme: the report has no line matching {pattern!r}")
    return m


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def tables(log: str) -> dict[str, str]:
    """Marker name -> the markdown it stands for."""
    ratio = _find(log, r"b/a = ([\d.]+)").group(1)
    raw = _find(log, r"\(a\) greenswitch, no-op handler: median ([\d,]+)").group(1)
    ours = _find(log, r"\(b\) fscontrol pipeline: +median ([\d,]+)").group(1)
    ranges = _find(log, r"check of 5,000 single-orbit ranges: median ([\d.]+) s").group(1)
    orbits = _find(log, r"check of 50,000 orbits in 5 ranges: median ([\d.]+) s").group(1)
    pickups = {n: _find(log, PICKUP.format(n=n)) for n in (1, 10)}
    load = LOAD_ROW.findall(log)
    limit = _find(log, r"limit: (.*)").group(1)
    at100 = next((r for r in load if r[0] == "100"), None)
    cvw = _find(log, r"1 at once: ([\d,]+) calls/s over \d+; place\(\) returns .*?-> connected "
                     r"p50 [\d.]+ ms p99 ([\d.]+) ms")
    api1 = _find(log, r" 1 client\(s\): ([\d,]+) requests/s, p50 [\d.]+ ms p99 ([\d.]+) ms")
    api8 = _find(log, r" 8 client\(s\): ([\d,]+) requests/s, p50 [\d.]+ ms p99 ([\d.]+) ms")
    if at100 is None:
        load_cell, load_met = "not reached (stopped below it)", "no"
    else:
        load_cell = (f"{float(at100[1]):.0f}/s achieved, p99 park {at100[5]} / retrieve "
                     f"{at100[7]} ms, {at100[3]} lost")
        load_met = "yes" if at100[3] == "0" and max(float(at100[5]), float(at100[7])) < 20 else "no"
    yes = lambda ok: "yes" if ok else "no"  # noqa: E731
    p1 = pickups[1]
    summary = _table(["figure", "measured", "goal", "met"], [
        ["(a)/(b) event pipeline: fscontrol / raw greenswitch, events/s",
         f"{ours} / {raw} = {ratio}", "≥ 0.5", yes(float(ratio) >= 0.5)],
        ["(c) `fscontrol check` of 5,000 single-orbit ranges", f"{ranges} s", "< 2 s",
         yes(float(ranges) < 2)],
        ["(c) `fscontrol check` of 50,000 orbits (5 ranges)", f"{orbits} s", "< 2 s",
         yes(float(orbits) < 2)],
        ["(d) group pickups, one at a time", f"{p1.group(1)}/s, bridged p99 {p1.group(5)} ms",
         "Lync: 3.3/s a pool", yes(float(p1.group(1).replace(",", "")) > 3.3)],
        ["(e) sustained park/retrieve, 100 cycles/s offered", load_cell,
         "100/s, p99 < 20 ms, 0 lost", load_met],
        ["(e) the limit", limit, "p99 ≤ 100 ms, 0 lost", "—"],
        ["(f) Call Via Work calls placed and connected, one at a time",
         f"{cvw.group(1)}/s, connected p99 {cvw.group(2)} ms", "—", "—"],
        ["(g) HTTP API, one client / 8 clients", f"{api1.group(1)} req/s p99 {api1.group(2)} ms / "
         f"{api8.group(1)} req/s p99 {api8.group(2)} ms", "—", "—"],
        ["(live) park / retrieve vs mod_valet_parking on a real switch",
         "not run yet (no switch here)", "≤ 1.5× p50, ≤ 2× p99", "—"],
    ])
    load_table = _table(
        ["offered/s", "achieved/s", "cycles", "lost", "park p50 / p99", "retrieve p50 / p99",
         "CPU s per 1,000 cycles: controller (load generator)"],
        [[r[0], r[1], r[2], r[3], f"{r[4]} / {r[5]} ms", f"{r[6]} / {r[7]} ms",
          f"{r[8]} ({r[9]})"] for r in load])
    load_table += (f"\n\nlimit: {limit}.\n\n"
                   "![decision latency against offered rate](docs/bench-load-latency.png)")
    events = _table(["contender", "events/s (median)"], [
        ["(a) greenswitch, no-op handler", raw], ["(b) fscontrol pipeline", ours], ["b/a", ratio]])

    def pickup_row(n: int) -> list[str]:
        m = pickups[n]
        per = float(m.group(1).replace(",", ""))
        return [str(n), m.group(1), f"{per * 60 / 200:.0f}×", f"{m.group(2)} / {m.group(3)} ms",
                f"{m.group(4)} / {m.group(5)} ms"]
    pickup = _table(["pickups at once", "pickups/s", "Lync's pool",
                     "CHANNEL_PARK → intercept sent, p50 / p99",
                     "CHANNEL_PARK → picker bridged, p50 / p99"], [pickup_row(1), pickup_row(10)])
    return {"SUMMARY_TABLE": summary, "LOAD_TABLE": load_table, "EVENTS_TABLE": events,
            "PICKUP_TABLE": pickup}


def main() -> None:
    report = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "bench" / "report.txt"
    text = README.read_text()
    for name, table in tables(report.read_text()).items():
        block = f"<!-- {name} -->\n{table}\n<!-- /{name} -->"
        text, n = re.subn(rf"<!-- {name} -->.*?<!-- /{name} -->", lambda _m: block, text,
                          flags=re.S)
        if n != 1:
            raise SystemExit(f"benchmarks.readme: README.md has no <!-- {name} --> block")
    README.write_text(text)
    png = report.parent / "load-latency.png"
    if png.exists():
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copy(png, ROOT / "docs" / "bench-load-latency.png")
    print(f"README.md's benchmark tables updated from {report}")


if __name__ == "__main__":
    main()
