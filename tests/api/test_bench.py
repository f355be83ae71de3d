"""The HTTP API benchmark still measures what it says (no timing asserted: the figures are for
`python -m benchmarks.api`): every request answered and timed, every placement connected."""

import benchmarks.api as bench
from fscontrol.config.model import CallViaWorkConfig


def test_the_api_benchmark_times_every_request_and_placement(database_url):
    r = bench.run(clients=2, requests=8, calls=2, url=database_url)
    times = r["latency"]["times"]
    assert sum(len(ts) for ts in times.values()) == 16
    assert set(times) == set(bench.PATHS) and all(t > 0 for ts in times.values() for t in ts)
    if "destination_dial_string" in CallViaWorkConfig.__dataclass_fields__:
        assert len(r["placed"]["posts"]) == 2 and r["placed"]["seconds"] > 0
