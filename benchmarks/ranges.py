"""`fscontrol check` on a config with thousands of orbit ranges: seconds to load, validate and
render it (the range rules and the shadowing check), in this process, median of several runs."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path


def config_text(ranges: int, users: int = 200) -> str:
    """`ranges` single-orbit park ranges (the worst case: one extension each) and `users` users."""
    parts = [f'[[users]]\nextension = "{2000 + i}"\n' for i in range(users)]
    parts += [f'[[orbits]]\nname = "r{i}"\nkind = "park"\nstart = "{10000 + 2 * i}"\n'
              f'end = "{10000 + 2 * i}"\nfallback = "2000"\n' for i in range(ranges)]
    return "\n".join(parts)


def check_seconds(ranges: int, runs: int = 3) -> list[float]:
    from fscontrol.config import load
    from fscontrol.render import render_files

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "site.toml"
        path.write_text(config_text(ranges))
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            render_files(load(path, env={}))
            times.append(time.perf_counter() - start)
    return times


def report(ranges: int = 5000, runs: int = 3) -> None:
    times = check_seconds(ranges, runs)
    print(f"(c) check of {ranges:,} single-orbit ranges: median {statistics.median(times):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in times)}; goal < 2 s)")
