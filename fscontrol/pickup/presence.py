"""Each pickup group's BLF key: PRESENCE_IN for `pickup+<number>` (proto from
`pickup.presence_proto`), sent with `sendevent` like park's: `early` (a phone's key blinks)
while an eligible call rings for a member, with the longest-ringing caller as the dialog's
party; `terminated` otherwise. sofia_presence.c shows `force-status` as the note."""

from __future__ import annotations

import itertools
import logging

from ..esl import EslError
from ..park.presence import _xml_safe

log = logging.getLogger("fscontrol.pickup")


class GroupPresence:
    def __init__(self, esl, proto: str = "pickup"):
        self.esl = esl
        self.proto = proto
        self.domain = ""
        self._count = itertools.count(1)

    def headers(self, number: str, ringing: bool, name: str = "", caller: str = "") -> dict:
        shown = _xml_safe(name or caller)
        h = {
            "proto": self.proto,
            "login": number,
            "from": f"{number}@{self.domain}",
            "status": f"Ringing: {shown}" if ringing and shown else ("Ringing" if ringing else "Idle"),
            "force-status": f"Ringing: {shown}" if ringing and shown else ("Ringing" if ringing else "Idle"),
            "rpid": "active" if ringing else "unknown",
            "event_type": "presence",
            "alt_event_type": "dialog",
            "event_count": str(next(self._count)),
            "unique-id": number,
            "channel-state": "CS_ROUTING" if ringing else "CS_HANGUP",
            "answer-state": "early" if ringing else "terminated",
            "presence-call-direction": "outbound" if ringing else "inbound",
        }
        if ringing and caller:
            h["Caller-Caller-ID-Name"] = shown or _xml_safe(caller)
            h["Caller-Caller-ID-Number"] = _xml_safe(caller)
        return h

    def publish(self, number: str, ringing: bool, name: str = "", caller: str = "") -> bool:
        try:
            self.esl.sendevent("PRESENCE_IN", self.headers(number, ringing, name, caller))
            return True
        except EslError as e:
            log.warning("pickup: presence for %s not sent: %s", number, e)
            return False
