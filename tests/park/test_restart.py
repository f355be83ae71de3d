"""The controller dies (kill -9) with 10 calls parked and starts again: no call is lost, every one
is retrievable, timers resume with the time left (overdue ones fire at once), orbits of calls that
ended meanwhile are freed, presence is re-published."""

from datetime import timedelta

import gevent

from .conftest import until


def test_killed_controller_restarts_with_ten_parked_calls(make_site):
    timeout = 8  # room for 10 parks, a restart and 3 retrieves on a loaded machine
    site = make_site(timeout=timeout, fallback="")
    phones = [site.switch.register(str(4000 + i), f"Caller {i}") for i in range(10)]
    for p in phones:
        p.dial("*70")
    until(lambda: len(site.parked()) == 10)
    before = {c.channel_uuid: c for c in site.parked()}
    site.crash()

    gone = phones[0]
    gone_orbit = site.orbit_of(gone)
    gone.hangup()  # ends while nobody watches
    gevent.sleep(0.5)  # the controller stays dead a little while (nothing to wait for: it is dead)
    assert len(site.parked()) == 10  # nothing happened without a controller

    sent = {orbit: len(states) for orbit, states in site.rec.presence.items()}
    site.start()
    until(lambda: site.service.store.by_orbit(gone_orbit) is None)
    assert site.service.store.call_log(gone_orbit)[-1]["action"] == "abandon"
    # re-published by the new controller (the old one may have died before publishing some)
    until(lambda: all("busy" in site.rec.presence[c.orbit][sent.get(c.orbit, 0):]
                      for c in site.parked()))
    for p in phones[1:]:
        p.wait_hearing("music")

    retrieved = phones[1:4]
    for i, p in enumerate(retrieved):
        retriever = site.switch.register(str(6000 + i))
        retriever.dial(site.orbit_of(p))
        p.wait_connected(retriever.user)
    rest = phones[4:]
    for p in rest:
        p.wait_idle(timeout + 3)  # timed out: no parker, no fallback -> prompt and disconnect
    for p in rest:
        call = before[p.calls[0].uuid]
        row = site.service.store.call_log(call.orbit)[-1]
        assert row["action"] == "disconnect"
        late = row["at"] - call.parked_at - timedelta(seconds=timeout)
        assert timedelta(seconds=-0.1) < late < timedelta(seconds=1.5), late
    assert site.parked() == []


def test_overdue_timers_fire_at_once_after_restart(make_site):
    site = make_site(timeout=1, fallback="")
    alice = site.switch.register("1001", "Alice")
    alice.dial("*70")
    orbit = site.orbit_of(alice)
    site.crash()
    gevent.sleep(1.5)  # the deadline passes while the controller is dead
    assert alice.state == "talking"
    site.start()
    alice.wait_idle(3)
    assert site.log_actions(orbit) == ["park", "disconnect"]
