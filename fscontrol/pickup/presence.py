"""Each pickup group's BLF key (fscontrol.presence), `pickup+<number>` (proto from
`pickup.presence_proto`): `early` (a phone's key blinks) while an eligible call rings for a
member, with the longest-ringing caller as the dialog's party and in the note; `terminated`
("Idle") otherwise."""

from __future__ import annotations

from ..presence import BlfKeys, xml_safe


class GroupPresence(BlfKeys):
    def __init__(self, esl, proto: str = "pickup"):
        super().__init__(esl, proto, "pickup")

    def publish(self, number: str, ringing: bool, name: str = "", caller: str = "") -> bool:
        shown = xml_safe(name or caller)
        note = (f"Ringing: {shown}" if shown else "Ringing") if ringing else "Idle"
        return self.send(number, "early" if ringing else "terminated", note, name, caller)
