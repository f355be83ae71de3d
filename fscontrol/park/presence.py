"""Orbit occupancy as presence: PRESENCE_IN events shaped like mod_valet_parking's
`valet_send_presence` (trace s06), sent with `sendevent` (trace s08), so a BLF key watching the
orbit shows busy while a call is parked there and idle once it is gone."""

from __future__ import annotations

import itertools
import logging

from ..esl import EslError

log = logging.getLogger("fscontrol.park")


class Presence:
    """Publishes one orbit's state. `domain` is resolved by the service before the first use."""

    def __init__(self, esl, proto: str = "park"):
        self.esl = esl
        self.proto = proto
        self.domain = ""
        self._count = itertools.count(1)

    def headers(self, orbit: str, busy: bool, name: str = "", number: str = "") -> dict:
        # The header set is valet_send_presence's (s06): confirmed for an occupied slot,
        # "Empty"/terminated for a free one. The note a phone shows is `force-status`
        # (sofia_presence.c sets it last), so an occupied orbit shows who is parked there, and
        # the caller-id headers make the dialog's remote identity the parked caller.
        shown = _xml_safe(name or number)
        h = {
            "proto": self.proto,
            "login": orbit,
            "from": f"{orbit}@{self.domain}",
            "status": f"Parked: {shown}" if busy and shown else ("Holding" if busy else "Empty"),
            "force-status": f"Parked: {shown}" if busy and shown else ("Holding" if busy else "Empty"),
            "rpid": "active" if busy else "unknown",
            "event_type": "presence",
            "alt_event_type": "dialog",
            "event_count": str(next(self._count)),
            "unique-id": orbit,
            "channel-state": "CS_ROUTING" if busy else "CS_HANGUP",
            "answer-state": "confirmed" if busy else "terminated",
            "presence-call-direction": "outbound" if busy else "inbound",
        }
        if busy and number:
            h["Caller-Caller-ID-Name"] = _xml_safe(name) or _xml_safe(number)
            h["Caller-Caller-ID-Number"] = _xml_safe(number)
        return h

    def publish(self, orbit: str, busy: bool, name: str = "", number: str = "") -> bool:
        try:
            self.esl.sendevent("PRESENCE_IN", self.headers(orbit, busy, name, number))
            return True
        except EslError as e:  # presence is re-published on the next (re)connect
            log.warning("park: presence for %s not sent: %s", orbit, e)
            return False


def _xml_safe(text: str) -> str:
    """mod_sofia pastes these into the NOTIFY's XML unescaped: no markup characters."""
    return " ".join((text or "").translate({ord(c): " " for c in '<>&"\',\''}).split())
