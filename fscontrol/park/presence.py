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

    def headers(self, orbit: str, busy: bool, caller: str = "") -> dict:
        # The header set and values are valet_send_presence's (s06): "Holding"/confirmed for an
        # occupied slot, "Empty"/terminated for a free one.
        return {
            "proto": self.proto,
            "login": orbit,
            "from": f"{orbit}@{self.domain}",
            "status": f"Parked: {caller}" if busy and caller else ("Holding" if busy else "Empty"),
            "force-status": "Holding" if busy else "Empty",
            "rpid": "active" if busy else "unknown",
            "event_type": "presence",
            "alt_event_type": "dialog",
            "event_count": str(next(self._count)),
            "unique-id": orbit,
            "channel-state": "CS_ROUTING" if busy else "CS_HANGUP",
            "answer-state": "confirmed" if busy else "terminated",
            "presence-call-direction": "outbound" if busy else "inbound",
        }

    def publish(self, orbit: str, busy: bool, caller: str = "") -> bool:
        try:
            self.esl.sendevent("PRESENCE_IN", self.headers(orbit, busy, caller.replace(",", " ")))
            return True
        except EslError as e:  # presence is re-published on the next (re)connect
            log.warning("park: presence for %s not sent: %s", orbit, e)
            return False
