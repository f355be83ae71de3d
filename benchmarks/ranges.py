"""`fscontrol check` at scale: seconds to load, validate and render (the range rules and the
shadowing check) a config with thousands of orbit ranges, and one with the most orbits a site may
have (50,000, in five ranges of 10,000), in this process, median of several runs."""

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


def big_ranges_text(users: int = 200) -> str:
    """50,000 orbits (numbers.MAX_TOTAL) in five ranges of 10,000 (the most a range may hold)."""
    parts = [f'[[users]]\nextension = "{2000 + i}"\n' for i in range(users)]
    parts += [f'[[orbits]]\nname = "big{i}"\nkind = "park"\nstart = "{(i + 1) * 100000}"\n'
              f'end = "{(i + 1) * 100000 + 9999}"\n' for i in range(5)]
    return "\n".join(parts)


def check_seconds(ranges: int, runs: int = 3, text: str | None = None) -> list[float]:
    from fscontrol.config import load
    from fscontrol.render import render_files

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "site.toml"
        path.write_text(text if text is not None else config_text(ranges))
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
    times = check_seconds(0, runs, big_ranges_text())
    print(f"(c) check of 50,000 orbits in 5 ranges: median {statistics.median(times):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in times)}; goal < 2 s)")
