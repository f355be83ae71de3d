"""Where the recorded traces are, and the conformance results the run collects for its table.

A module of its own, not conftest: `from conftest import ...` picks whichever conftest.py was
imported last."""

import os

TRACES = os.path.join(os.path.dirname(__file__), "..", "fs_traces")
TRACE_CONTEXT = os.path.join(TRACES, "trace-context.xml")
CONFORMANCE = {}
