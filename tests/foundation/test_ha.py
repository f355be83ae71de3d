"""The active lock (fscontrol.ha) on its own: one holder per switch and schema, the others wait;
a holder whose session the server ends knows it within step_down_after, and a new holder acts
only after the handover wait, so their active times never overlap."""

import time

import gevent
import gevent.event

from fscontrol.ha import ActiveLock
from waiting import until


def acquire_in_background(lock, stop):
    won = []
    g = gevent.spawn(lambda: won.append((lock.acquire(stop), time.monotonic())))
    return g, won


def lock_pid(database, lock):
    with database.connection() as conn:
        row = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                           ("fscontrol " + lock.controller_id,)).fetchone()
    return row[0] if row else None


def test_one_holder_per_switch_and_the_other_takes_over_only_after_the_handover(database):
    stop = gevent.event.Event()
    first = ActiveLock(database, "pbx-a", "ctl-1", step_down_after=1, poll=0.2)
    second = ActiveLock(database, "pbx-a", "ctl-2", step_down_after=1, poll=0.2)
    other_switch = ActiveLock(database, "pbx-b", "ctl-3", step_down_after=1, poll=0.2)
    try:
        assert first.acquire(stop)
        g, won = acquire_in_background(second, stop)
        assert other_switch.acquire(stop)           # another switch has a lock of its own
        gevent.sleep(first.handover + 0.5)          # what a standby would wait, and more
        assert won == [] and not first.lost.is_set()  # still standby: ctl-1 is confirmed

        with database.connection() as conn:         # the server ends the holder's session
            conn.execute("SELECT pg_terminate_backend(%s)", (lock_pid(database, first),))
        ended = time.monotonic()
        until(first.lost.is_set, timeout=first.step_down_after + 0.5,
              message="the holder did not notice it lost the lock")
        stopped = time.monotonic()
        assert "database connection lost" in first.loss_reason
        until(lambda: won, timeout=first.handover + 3, message="the standby never took over")
        assert won[0][0] is True
        # the new holder acted a full handover after it won, so after the old one had stopped
        assert won[0][1] - ended >= second.handover - 0.05
        assert won[0][1] > stopped
    finally:
        stop.set()
        for lock in (first, second, other_switch):
            lock.release()


def test_a_standby_sees_who_is_active_and_stop_ends_its_wait(database, caplog):
    caplog.set_level("INFO", logger="fscontrol.ha")
    stop = gevent.event.Event()
    active = ActiveLock(database, "pbx-a", "host-a:1", step_down_after=1, poll=0.2)
    standby = ActiveLock(database, "pbx-a", "host-b:2", step_down_after=1, poll=0.2)
    try:
        assert active.acquire(stop)
        g, won = acquire_in_background(standby, stop)
        until(lambda: "standby: switch pbx-a is controlled by controller host-a:1" in caplog.text)
        assert caplog.text.count("standby: switch pbx-a") == 1   # said once, not every poll
        stop.set()
        g.join(timeout=3)
        assert won and won[0][0] is False
    finally:
        active.release()
        standby.release()
