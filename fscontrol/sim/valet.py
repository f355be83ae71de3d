"""mod_valet_parking (valet_park, valet_info) after the FreeSWITCH source and s06.

A lot holds tokens (slot extension -> the parked channel). `valet_park LOT EXT` parks the caller
in EXT, or, when a caller is parked there, bridges the two (the parked caller's session runs the
bridge). `valet_park LOT auto in MIN MAX` takes the first free slot in [MIN, MAX) (the source's
loop excludes MAX), waits 1.5 s for the announcement, then parks; a caller in a bridge is instead
transferred to the slot and the parker hung up. `auto out MIN MAX` retrieves the longest-parked
caller in the range. Each park and exit sends the lot's and the slot's PRESENCE_IN (proto park);
CUSTOM valet_parking::info events say hold, bridge and exit. `ask` (read the slot as DTMF) is not
simulated. Phrase macros (valet_announce_ext, valet_lot_full/empty) play nothing, as on the
recording switch."""
from __future__ import annotations

import itertools
import time

from .channels import Hangup, Transfer, UuidBridge

SUBCLASS = "valet_parking::info"
TICKET_SECONDS = 5          # TOKEN_FREQ: how long a transferred caller's reserved slot waits


class Token:
    def __init__(self, ext, uuid):
        self.ext, self.uuid = ext, uuid
        self.start = time.monotonic()
        self.timeout = 0          # 0 live; > 0 a ticket deadline (monotonic) or 1 = finished
        self.bridged = False

    @property
    def expired(self):
        return self.timeout == 1 or (self.timeout > 1 and self.timeout < time.monotonic())


class Valet:
    def __init__(self, switch):
        self.sw = switch
        self.lots = {}                      # lot name -> {ext: Token}, in creation order
        self.event_count = itertools.count(0)

    # -- presence --------------------------------------------------------------------------------
    def _domain(self, lot_name):
        name, _, domain = lot_name.partition("@")
        return name, domain or self.sw.globals.get("domain") or "cluecon.com"

    def _presence(self, login, domain, status, rpid, state, answer, direction):
        self.sw.fire_global("PRESENCE_IN", post=[
            ("proto", "park"), ("login", login), ("from", "%s@%s" % (login, domain)),
            ("force-status", status), ("rpid", rpid), ("event_type", "presence"),
            ("alt_event_type", "dialog"), ("event_count", str(next(self.event_count))),
            ("unique-id", login), ("channel-state", state), ("answer-state", answer),
            ("presence-call-direction", direction)])

    def send_presence(self, lot_name, token, parked):
        name, domain = self._domain(lot_name)
        count = sum(1 for t in self.lots[lot_name].values() if not t.expired)
        if count:
            self._presence(name, domain, "Active (%d caller%s)" % (count, "" if count == 1 else "s"),
                           "active", "CS_ROUTING", "confirmed", "inbound")
        else:
            self._presence(name, domain, "Empty", "unknown", "CS_HANGUP", "terminated", "inbound")
        if parked:
            self._presence(token.ext, domain, "Active" if token.bridged else "Holding", "active",
                           "CS_ROUTING", "confirmed", "inbound" if token.bridged else "outbound")
        else:
            self._presence(token.ext, domain, "Empty", "unknown", "CS_HANGUP", "terminated", "inbound")

    @staticmethod
    def _info(ch, lot_name, ext, action, extra=()):
        ch.fire("CUSTOM", subclass=SUBCLASS, pre=[("Valet-Lot-Name", lot_name), ("Valet-Extension", ext),
                                                   ("Action", action)] + list(extra))

    # -- slots -------------------------------------------------------------------------------------
    def _sweep(self, lot):
        for ext in [e for e, t in lot.items() if t.expired]:
            del lot[ext]

    def _next(self, ch, lot, lo, hi, park_in):
        lo = lo or 1
        if not park_in:
            in_range = [t for t in lot.values() if t.ext.isdigit() and lo <= int(t.ext) <= hi]
            if in_range:
                return min(in_range, key=lambda t: t.start)
        i = lo
        while i < hi or hi == 0:
            token = lot.get(str(i))
            if not park_in and token is not None and not token.timeout:
                return token
            if park_in and token is None:
                token = lot[str(i)] = Token(str(i), ch.uuid)
                return token
            i += 1
        return None

    # -- the application -----------------------------------------------------------------------------
    def park(self, ch, data):
        argv = data.split()
        if len(argv) < 2:
            return
        lot_name, ext = argv[0], argv[1]
        lot = self.lots.setdefault(lot_name, {})
        self._sweep(lot)
        token, is_auto, park_in = None, False, None
        if ext == "auto":
            if len(argv) < 5 or argv[2] not in ("in", "out"):
                return
            park_in = argv[2] == "in"
            is_auto = park_in
            token = self._next(ch, lot, _int(argv[3]), _int(argv[4]), park_in)
            if token is None:
                return          # phrase valet_lot_full / valet_lot_empty
            ext = token.ext
        elif ext == "ask":
            return              # reading the slot as DTMF is not simulated
        if token is None or not park_in:
            if token is None:
                token = lot.get(ext)
            if token is not None and not token.bridged:
                if token.timeout > 1:
                    ticket = ch.vars.get("valet_ticket", "")
                    if ticket and ticket != token.uuid:
                        ch.hangup("DESTINATION_OUT_OF_ORDER")
                        raise Hangup()
                    if ticket:
                        token.timeout = 0
                        ch.vars.pop("valet_ticket", None)
                parked = self.sw.find(token.uuid)
                if parked is not None and parked is not ch and parked.alive:
                    self._info(parked, lot_name, ext, "bridge", [("Bridge-To-UUID", ch.uuid)])
                    token.timeout, token.bridged = 0, True
                    # the parked caller's session runs the bridge, the retriever's joins it (s06)
                    parked.other_leg, parked.other_type = ch, "originatee"
                    ch.other_leg, ch.other_type = parked, "originator"
                    parked.post("uuid_bridge", ch, "a")
                    ch.pending_bridge = (parked, "b")
                    return
            lot.pop(ext, None)
            token = lot[ext] = Token(ext, ch.uuid)
        music = ch.vars.get("valet_hold_music") or ch.vars.get("hold_music") or "silence"
        if music == "silence":
            music = "silence_stream://-1"
        if is_auto:
            partner = self.sw.find(ch.vars.get("signal_bond", "")) if ch.vars.get("signal_bond") else None
            announce = ch.vars.get("valet_announce_slot", "true").lower() in ("true", "yes", "on", "1")
            if partner is not None and partner.alive:
                token.timeout = time.monotonic() + TICKET_SECONDS
                if announce:
                    ch.wait(timeout=1.5)
                dest = [("set", "valet_ticket=%s" % token.uuid), ("set", "valet_hold_music=%s" % music),
                        ("sleep", "1000"), ("valet_park", "%s %s" % (lot_name, ext))]
                partner.post("transfer", Transfer(None, inline_apps=dest))
                ch.hangup("NORMAL_CLEARING")
                raise Hangup()
            if announce:
                ch.wait(timeout=1.5)
        self._info(ch, lot_name, ext, "hold")
        self.send_presence(lot_name, token, parked=True)
        self.sw.notify()
        try:
            while ch.alive:
                self.sw.apps.playback(ch, music, forever=True)
        except (UuidBridge, Transfer, Hangup):
            self._leave(ch, lot_name, ext, token)
            raise
        self._leave(ch, lot_name, ext, token)

    def _leave(self, ch, lot_name, ext, token):
        token.timeout = 1
        self.send_presence(lot_name, token, parked=False)
        self._info(ch, lot_name, ext, "exit")
        self.sw.notify()

    # -- the API ---------------------------------------------------------------------------------------
    def info(self, arg):
        out = ["<lots>\n"]
        for name, lot in self.lots.items():
            if arg and arg.lower() != name.lower():
                continue
            out.append('  <lot name="%s">\n' % name)
            for ext, token in lot.items():
                if not token.timeout:
                    out.append('    <extension uuid="%s">%s</extension>\n' % (token.uuid, ext))
            out.append("  </lot>\n")
        out.append("</lots>\n")
        return "".join(out)

    def parked_in(self, lot_name):
        """{ext: channel uuid} of the callers holding in a lot (for tests)."""
        return {e: t.uuid for e, t in self.lots.get(lot_name, {}).items() if not t.timeout}


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0
