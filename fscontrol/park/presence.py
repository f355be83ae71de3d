"""Orbit occupancy as presence (fscontrol.presence): a BLF key watching the orbit shows busy with
the note "Parked: <caller>" (the caller as the dialog's party) while a call is parked there, and
"Empty" once it is gone (valet_send_presence's values, s06)."""

from __future__ import annotations

from ..presence import BlfKeys, xml_safe


class Presence(BlfKeys):
    """Publishes one orbit's state."""

    def __init__(self, esl, proto: str = "park"):
        super().__init__(esl, proto, "park")

    def publish(self, orbit: str, busy: bool, name: str = "", number: str = "") -> bool:
        shown = xml_safe(name or number)
        note = (f"Parked: {shown}" if shown else "Holding") if busy else "Empty"
        return self.send(orbit, "confirmed" if busy else "terminated", note, name, number)
