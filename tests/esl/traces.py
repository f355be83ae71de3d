"""Helpers to load the recorded FreeSWITCH ESL traces (tests/fs_traces) as test data."""

import json
from pathlib import Path

TRACE_DIR = Path(__file__).resolve().parent.parent / "fs_traces"


def trace_files():
    return sorted(TRACE_DIR.glob("*.jsonl"))


def load(name_or_path):
    path = Path(name_or_path)
    if not path.is_absolute() and not path.exists():
        matches = [p for p in trace_files() if p.name.startswith(str(name_or_path) + "_")]
        if len(matches) != 1:
            raise LookupError(f"trace {name_or_path!r}: {matches}")
        path = matches[0]
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def recv_messages(entries):
    return [e["data"] for e in entries if e["dir"] == "recv"]
