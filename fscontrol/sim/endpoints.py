"""Endpoints a dial string can name (null/, loopback/, user/, error/) and the originate that rings
them: groups tried in turn (`|`), legs of a group rung at once (`,`), first answer wins."""
from __future__ import annotations

import time
import uuid as uuidlib

from . import dialstring
from .channels import Channel

_CAUSE_ALIASES = {"user_busy": "USER_BUSY", "no_answer": "NO_ANSWER", "no_route_destination": "NO_ROUTE_DESTINATION"}


class OriginateFailed(Exception):
    def __init__(self, cause):
        super().__init__(cause)
        self.cause = cause


def _outbound_announce(ch, origination_uuid):
    """CODEC/CHANNEL_UUID/OUTGOING/INIT/CREATE as mod_loopback and switch_ivr_originate fire them."""
    if origination_uuid:
        temp = str(uuidlib.uuid4())
        for _ in range(2):
            ch.fire("CODEC", uuid=temp, name_override=ch.temp_name or ch.name)
        ch.fire("CHANNEL_UUID", pre=[("Old-Unique-ID", temp)])
    ch.fire("CHANNEL_OUTGOING")
    ch.set_state("CS_INIT")
    ch.fire("CHANNEL_CREATE")


def _inbound_announce(ch):
    for _ in range(2):
        ch.fire("CODEC")
    ch.set_state("CS_INIT")
    ch.fire("CHANNEL_CREATE")
    ch.state = "CS_ROUTING"
    ch.set_callstate("RINGING")
    ch.fire("CHANNEL_STATE")


def _vars_for(leg_vars):
    return {k: v for k, v in leg_vars.items()}


def create_leg(sw, leg, caller=None):
    """Create the outbound channel(s) for one leg. Returns the originated channel (ringing);
    raises OriginateFailed for endpoints that fail at once."""
    ep = leg.endpoint
    v = _vars_for(leg.vars)
    ouuid = v.get("origination_uuid")
    cid_name = v.get("origination_caller_id_name")
    cid_num = v.get("origination_caller_id_number")
    if caller is not None:
        cid_name = cid_name or caller.cid_name
        cid_num = cid_num or caller.cid_num
    tech, _, rest = ep.partition("/")
    if tech == "error":
        raise OriginateFailed(_CAUSE_ALIASES.get(rest.lower(), rest.upper() or "DESTINATION_OUT_OF_ORDER"))
    if tech == "null" and rest:
        ch = Channel(sw, "null/" + rest, "outbound", uuid=ouuid, kind="null",
                     cid_name=cid_name or "Outbound Call", cid_num=cid_num or rest, dest=rest,
                     context="default", variables=v)
        ch.orig_cid_num = ch.ani = ch.callee_num = cid_num or "0000000000"
        _register(sw, ch, caller, v)
        _outbound_announce(ch, ouuid)
        ch.fire("CHANNEL_ORIGINATE")
        ch.set_state("CS_ROUTING")
        ch.set_state("CS_CONSUME_MEDIA")
        ch.vars["endpoint_disposition"] = "ANSWER"
        ch.mark_answered()
        return ch
    if tech == "loopback" and rest:
        parts = rest.split("/")
        exten = parts[0]
        context = parts[1] if len(parts) > 1 and parts[1] else "default"
        # the -a leg's caller id is the originate's (or the bridging caller's), its callee id
        # "Outbound Call" <context> (trace s05); an originate API flips them once it runs its
        # app (switch_channel_sort_cid), a leg a bridge rings keeps them
        a = Channel(sw, "loopback/%s-a" % exten, "outbound", uuid=ouuid, kind="loopback",
                    cid_name=cid_name or "", cid_num=cid_num or "0000000000", dest=exten,
                    context=context, variables=v, temp_name="loopback/%s-a" % rest)
        a.callee_name, a.callee_num = "Outbound Call", context
        _register(sw, a, caller, v)
        _outbound_announce(a, ouuid)
        # the -b leg's caller id is the originate's (or the bridging caller's); no name stays empty (s04, s11)
        b = Channel(sw, "loopback/%s-b" % exten, "inbound", kind="loopback",
                    cid_name=cid_name or "", cid_num=cid_num or "0000000000", dest=exten,
                    context=context)
        a.loopback_peer, b.loopback_peer = b, a
        a.vars["other_loopback_leg_uuid"] = b.uuid
        b.vars["other_loopback_leg_uuid"] = a.uuid
        b.vars["loopback_leg"] = "B"
        a.vars["loopback_leg"] = "A"
        for k, val in v.items():   # loopback exports the originate vars to the B leg
            if not k.startswith("origination_"):
                b.vars.setdefault(k, val)
        sw.track(b)
        a.fire("CHANNEL_ORIGINATE")
        a.set_state("CS_ROUTING")
        a.set_state("CS_CONSUME_MEDIA")
        _inbound_announce(b)
        b.start(("dialplan", exten, context))
        return a
    if tech in ("user", "sofia"):
        user = rest.split("/")[-1].split("@")[0]
        phone = sw.phones.get(user)
        if phone is None or not phone.registered:
            if phone is not None or user in sw.known_users:
                raise OriginateFailed("USER_NOT_REGISTERED")
            raise OriginateFailed("DESTINATION_OUT_OF_ORDER")
        if phone.busy_now():
            raise OriginateFailed("USER_BUSY")
        ch = Channel(sw, "sofia/internal/%s@%s" % (user, sw.domain), "outbound", uuid=ouuid, kind="phone",
                     cid_name=cid_name or "Outbound Call", cid_num=cid_num or "0000000000", dest=user,
                     context=sw.context, variables=v, source="mod_sofia")
        ch.vars["dialed_user"] = user
        ch.vars["dialed_domain"] = sw.domain
        _register(sw, ch, caller, v)
        _outbound_announce(ch, ouuid)
        ch.fire("CHANNEL_ORIGINATE")
        ch.set_state("CS_ROUTING")
        ch.set_state("CS_CONSUME_MEDIA")
        phone.incoming(ch)
        return ch
    raise OriginateFailed("DESTINATION_OUT_OF_ORDER" if ep.startswith("{") else "CHAN_NOT_IMPLEMENTED")


def _register(sw, ch, caller, v):
    ch.vars.setdefault("originate_early_media", "true")
    ch.vars["originate_endpoint"] = ch.kind if ch.kind != "phone" else "user"
    if caller is not None:
        ch.other_leg = caller
        ch.other_type = "originator"
        ch.vars["originating_leg_uuid"] = caller.uuid
    sw.track(ch)


def _true(value):
    return str(value or "").lower() in ("true", "yes", "on", "1", "enabled", "active", "allow")


def originate(sw, dial, timeout=None, caller=None):
    """Ring `dial`; -> the answered Channel. Raises OriginateFailed(cause).
    A caller (the bridging channel) hanging up cancels the legs with ORIGINATOR_CANCEL."""
    groups = dialstring.parse(dial)
    if not groups:
        raise OriginateFailed("DESTINATION_OUT_OF_ORDER")
    last = "NO_ROUTE_DESTINATION"
    for legs in groups:
        live, failures = [], []
        for leg in legs:
            try:
                live.append(create_leg(sw, leg, caller))
            except OriginateFailed as f:
                failures.append(f.cause)
        if not live:
            last = failures[-1] if failures else last
            continue
        t = float(legs[0].vars.get("originate_timeout") or legs[0].vars.get("leg_timeout")
                  or (caller.vars.get("call_timeout") if caller is not None else None) or timeout or 60)
        deadline = time.monotonic() + t
        # switch_ivr_originate without a session (the originate API) takes early media as success
        # unless ignore_early_media is set (s05: the -a leg of a loopback whose -b bridges to a
        # ringing phone runs its app while still EARLY); a bridging session waits for the answer
        early_ok = caller is None and not _true(legs[0].vars.get("ignore_early_media"))

        def won(c):
            return c.alive and (c.is_answered or (early_ok and c.answer_state == "early"))

        def settled():
            if caller is not None and not caller.alive:
                return True
            return any(won(c) for c in live) or all(not c.alive for c in live)

        while not settled():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if caller is not None:
                try:
                    caller.wait(timeout=min(remaining, 0.02))
                except BaseException:
                    for c in live:
                        c.hangup("ORIGINATOR_CANCEL")
                    raise
            else:
                sw.wait_changed(min(remaining, 0.5))
        winner = next((c for c in live if c.is_answered and c.alive), None) or next(
            (c for c in live if won(c)), None)
        if winner is not None:
            for c in live:
                if c is not winner:
                    c.hangup("LOSE_RACE")
            return winner
        if caller is not None and not caller.alive:
            for c in live:
                c.hangup("ORIGINATOR_CANCEL")
            raise OriginateFailed("ORIGINATOR_CANCEL")
        if any(c.alive for c in live):
            for c in live:
                c.hangup("NO_ANSWER")
            last = "NO_ANSWER"
            continue
        causes = [c.hangup_cause for c in live if c.hangup_cause]
        last = causes[0] if causes else (failures[0] if failures else last)
    raise OriginateFailed(last)
