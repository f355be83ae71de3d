"""Condition waits for tests: wait for what a user would see, never sleep and hope.

A module of its own (not conftest) because every test directory has a conftest.py and
`from conftest import ...` would pick whichever one was imported last.
"""

import gevent


def until(condition, timeout: float = 5.0, interval: float = 0.005, message: str = ""):
    """Waits cooperatively until `condition()` is truthy and returns its value; fails the test
    with `message` (or the condition) after `timeout` seconds."""
    with gevent.Timeout(timeout, False):
        while True:
            value = condition()
            if value:
                return value
            gevent.sleep(interval)
    value = condition()
    if value:
        return value
    raise AssertionError(f"condition not met within {timeout}s: {message or condition}")
