"""`make bench`'s Group Call Pickup figure still measures what it says (no timing asserted: the
figures themselves are for `make bench`): every pickup of every round connected its caller to
its picker, and each one has both latencies, from the same host clock."""

import benchmarks.pickups as bench


def test_the_pickup_benchmark_measures_every_pickup(database_url):
    r = bench.run(groups=2, rounds=2, url=database_url)
    assert r["pickups"] == 4 and r["concurrency"] == 2
    assert len(r["decision"]) == len(r["bridged"]) == 4
    assert all(0 <= d <= b for d, b in zip(r["decision"], r["bridged"]))
    assert r["per_second"] > 0


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (bench.percentile(values, 50), bench.percentile(values, 99)) == (50.0, 99.0)
    assert bench.percentile([7.0], 99) == 7.0
