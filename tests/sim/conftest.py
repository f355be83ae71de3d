"""Fixtures for the simulated-switch tests; also prints the trace conformance table at the end."""
from gevent import monkey

if not monkey.is_module_patched("socket"):
    monkey.patch_all()

import pytest

from fscontrol.sim import SimSwitch
from sim_traces import CONFORMANCE, TRACE_CONTEXT


@pytest.fixture
def switch():
    sw = SimSwitch(dialplan=TRACE_CONTEXT, context="trace", heartbeat=0).start()
    yield sw
    sw.stop()


def pytest_terminal_summary(terminalreporter):
    if not CONFORMANCE:
        return
    tr = terminalreporter
    tr.write_sep("=", "simulated FreeSWITCH vs recorded traces")
    for name in sorted(CONFORMANCE):
        status, note = CONFORMANCE[name]
        tr.write_line("%-42s %-6s %s" % (name, status, note))
