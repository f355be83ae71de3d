"""What a SIP phone's BLF key receives for a PRESENCE_IN event: the pidf note and rpid of the
`presence` NOTIFY and the dialog state and remote identity of the `dialog` NOTIFY, as mod_sofia
builds them in sofia_presence.c (sofia_presence_sub_callback, gen_pidf). The simulator has no
SIP: tests read this to know what a subscribed phone would show.

Rules followed (FreeSWITCH 1.10 sofia_presence.c): the note starts as `status`; an `early` or
`confirmed` answer-state makes it "On The Phone" with rpid on-the-phone; `force-status`, when
set, replaces it last. The dialog is `answer-state`; its remote identity shows the caller's name
(`Caller-Caller-ID-Name`, number `Caller-Caller-ID-Number`) when the event carries them and a
`presence-call-direction` other than inbound, else, for proto `park`, the display "park"."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BlfView:
    note: str
    rpid: str
    dialog: str
    display: str


def blf_view(headers) -> BlfView:
    get = headers.get
    answer = get("answer-state") or "terminated"
    note, rpid = get("status") or "", get("rpid") or "unknown"
    if answer in ("early", "confirmed") and not get("resub"):
        note, rpid = "On The Phone", "on-the-phone"
    if get("force-status"):
        note = get("force-status")
    name, number = get("Caller-Caller-ID-Name"), get("Caller-Caller-ID-Number")
    if number and (get("presence-call-direction") or "inbound") != "inbound":
        display = name or number
    else:
        display = "park" if get("proto") == "park" else (get("login") or "")
    dialog = answer if answer in ("early", "confirmed", "terminated") else "terminated"
    return BlfView(note, rpid, dialog, display)
