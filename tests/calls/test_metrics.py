"""The controller's own health in its metrics: whether the event socket is up, how many events
wait for their handlers and how long they waited."""

import gevent
import gevent.event

from fscontrol.esl.dispatch import Dispatcher
from fscontrol.esl.events import Event
from fscontrol.metrics import REGISTRY
from waiting import until


def _value(name):
    return REGISTRY.get_sample_value(name)


def test_esl_connected_follows_the_event_socket(make_site):
    site = make_site()
    assert _value("fscontrol_esl_connected") == 1
    site.switch.refuse_connections()
    site.switch.drop_connections()
    until(lambda: _value("fscontrol_esl_connected") == 0, 5, message="still shown connected")
    site.switch.refuse_connections(False)
    until(lambda: _value("fscontrol_esl_connected") == 1, 10, message="not shown reconnected")


def test_every_handled_event_has_its_lag_observed_and_the_queue_drains(make_site):
    site = make_site()
    handled = _value("fscontrol_event_lag_seconds_count") or 0
    alice, bob = site.switch.register("1001", "Alice"), site.switch.register("1002", "Bob")
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected("1002")
    alice.hangup()
    alice.wait_idle()
    until(lambda: _value("fscontrol_event_lag_seconds_count") > handled + 10, 5,
          message="no lag observed")
    until(lambda: _value("fscontrol_event_queue_depth") == 0, 5, message="the queue never drained")
    assert _value("fscontrol_event_lag_seconds_sum") >= 0


def test_the_dispatcher_counts_events_waiting_behind_a_slow_handler_and_their_lag():
    dispatcher = Dispatcher()
    lags = []
    dispatcher.lag_observer = lags.append
    release = gevent.event.Event()
    dispatcher.on("CHANNEL_ANSWER", lambda event: release.wait(5))
    for _ in range(3):
        dispatcher.dispatch(Event("CHANNEL_ANSWER", "a-uuid"))
    gevent.sleep(0)
    assert dispatcher.pending == 3        # one being handled, two queued behind it
    gevent.sleep(0.05)
    release.set()
    until(lambda: dispatcher.pending == 0, 5, message="the events were never handled")
    assert len(lags) == 3 and lags[2] >= 0.04    # the last one waited for the slow first
    dispatcher.stop()
