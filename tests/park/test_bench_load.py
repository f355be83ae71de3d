"""`make bench`'s sustained-load and valet figures still measure what they say (no timing
asserted: the figures are for `make bench`): every offered park/retrieve cycle through
`fscontrol run` completes and has both decision latencies; the limit is named; the valet
comparison parks and retrieves both ways on the simulated switch."""

import benchmarks.live as live
import benchmarks.load as load


def test_the_load_benchmark_measures_every_cycle(database_url):
    (row,) = load.run([10], 1.0, database_url)
    assert (row["rate"], row["done"], row["lost"]) == (10, 10, 0)
    assert 0 < row["park_p50"] <= row["park_p99"] and 0 < row["retrieve_p50"] <= row["retrieve_p99"]
    assert row["cpu_per_1000"] > 0
    assert load.limit_of([row]) == "limit: above 10 cycles/s offered (not reached)"
    assert load.limit_of([dict(row, lost=2)]) == "limit: 10 cycles/s offered (2 cycle(s) lost)"


def test_the_valet_comparison_runs_both_ways(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    out = live.run(2, sim=True)
    for kind in ("fscontrol", "valet"):
        parks, retrieves = out[kind]
        assert len(parks) == len(retrieves) == 2 and all(v > 0 for v in parks + retrieves)
