"""`make bench`'s Call Via Work figure still measures what it says (no timing asserted): every
placed call of every round connected, and each has both latencies."""

import benchmarks.callviawork as bench


def test_the_call_via_work_benchmark_measures_every_call(database_url):
    r = bench.run(concurrency=2, calls=4, url=database_url)
    assert r["calls"] == 4 and r["concurrency"] == 2
    assert len(r["returned"]) == len(r["connected"]) == 4
    assert all(0 < a <= b for a, b in zip(r["returned"], r["connected"]))
    assert r["per_second"] > 0
