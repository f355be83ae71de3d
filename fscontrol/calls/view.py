"""What a client sees of a call: the `Call` of one leg of a user's phone, its JSON dict (the
contract of the HTTP API and the live events), and who the other party is."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone

ENDED = "ended"


@functools.lru_cache(maxsize=4096)   # a call's times repeat in each of its events
def iso(t: float | None) -> str | None:
    """Epoch seconds as ISO-8601 UTC with milliseconds, None for None."""
    if not t:
        return None
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


@dataclass(slots=True, eq=False)
class Call:
    """One leg of a configured user's phone, as the tracker last saw it. `holding`: this leg
    put the call on hold (its phone sent hold, or `uuid_hold` named it)."""

    id: str
    user: str
    direction: str                   # from the user: "outbound" = the user called
    started_at: float
    peer_number: str = ""
    peer_name: str = ""
    peer_id: str | None = None
    state: str = "ringing"
    rang: bool = False               # call_ringing published
    answered_at: float | None = None
    ended_at: float | None = None
    reason: str | None = None
    orbit: str | None = None
    via: str | None = None
    holding: bool = False

    def to_dict(self) -> dict:
        return {"id": self.id, "user": self.user, "state": self.state,
                "direction": self.direction,
                "peer": {"number": self.peer_number, "name": self.peer_name},
                "peer_id": self.peer_id, "started_at": iso(self.started_at),
                "answered_at": iso(self.answered_at), "ended_at": iso(self.ended_at),
                "reason": self.reason, "orbit": self.orbit, "via": self.via}


def leg_dict(ch, user: str | None, party: tuple[str, str]) -> dict:
    """The call dict of a leg the tracker does not follow (not a configured user's phone, e.g.
    an outside caller being parked): what the registry knows of it."""
    if ch is None:
        return {}
    answered = ch.answer_state == "answered"
    return {"id": ch.uuid, "user": user, "state": "talking" if answered else "ringing",
            "direction": "inbound" if ch.direction == "outbound" else "outbound",
            "peer": {"number": party[0], "name": party[1]}, "peer_id": ch.peer,
            "started_at": iso(ch.created), "answered_at": None, "ended_at": None,
            "reason": None, "orbit": None, "via": ch.variables.get("fscontrol_via") or None}
