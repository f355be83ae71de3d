"""The operator's view of parked calls (`fscontrol parked`): one line per call with its orbit,
caller, parker, how long it has been parked, attempts, and what happens next and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from .states import ParkedCall, State


@dataclass(frozen=True)
class RangeSettings:
    """A park range's effective timing and fallback (range override, else [park])."""

    timeout: float
    ringback_timeout: float
    max_attempts: int
    fallback: str


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def next_action(call: ParkedCall, s: RangeSettings) -> str:
    if call.state is State.RINGING_BACK:
        return f"ringing {call.parker} (attempt {call.attempts}/{s.max_attempts})"
    if call.parker and call.attempts < s.max_attempts:
        return f"ring back {call.parker}"
    return f"fallback to {s.fallback}" if s.fallback else "prompt and disconnect"


def settings_for(config, range_name: str) -> RangeSettings:
    """The range's own timeout, max_attempts and fallback where it sets them, else [park]'s."""
    p = config.park
    r = next((r for r in config.ranges("park") if r.name == range_name), None)

    def pick(name):
        value = getattr(r, name, None) if r is not None else None
        return getattr(p, name) if value is None else value
    return RangeSettings(pick("timeout"), p.ringback_timeout, pick("max_attempts"), pick("fallback"))


def table(config, calls: list[ParkedCall], now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    header = ("ORBIT", "CALLER", "PARKER", "PARKED FOR", "ATTEMPTS", "NEXT", "WHEN")
    rows = []
    for c in calls:
        s = settings_for(config, c.range_name)
        left = (c.deadline - now).total_seconds()
        if c.state is State.RINGING_BACK:  # the row's deadline allows some grace past the ringing
            from .services import RINGBACK_GRACE  # (services imports this module)
            left -= RINGBACK_GRACE
        when = f"in {_duration(left)}" if left > 0 else "now (overdue)"
        rows.append((c.orbit, c.caller, c.parker or "-", _duration((now - c.parked_at).total_seconds()),
                     f"{c.attempts}/{s.max_attempts}", next_action(c, s), when))
    if not rows:
        return "no parked calls"
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in [header] + rows]
    return "\n".join(lines) + f"\n{len(rows)} parked call(s)"
