"""The calls of users' phones as the event socket shows them: one `Call` per leg of a configured
user's phone (Alice calls Bob: a leg for each), kept from channel events and rebuilt from the
channel registry at every (re)connect; each change is published to the controller's bus for the
leg's user. Handlers run on the channel's ordered dispatch worker and call these methods; nothing
here blocks or touches the database, and an event costs one dict lookup for a channel that is
not a user's leg.

What the real switch fires (FreeSWITCH 1.10.12): a phone's own hold (re-INVITE sendonly) goes
through switch_channel_mark_hold (switch_channel.c): call state HELD, then CHANNEL_HOLD; its
resume: call state UNHOLD, then CHANNEL_UNHOLD. `uuid_hold` runs switch_ivr_hold (switch_ivr.c):
CHANNEL_HOLD on the channel it names, its call state unchanged (ACTIVE in trace s12);
`uuid_hold off` runs switch_ivr_unhold: CHANNEL_UNHOLD. CHANNEL_BRIDGE and CHANNEL_UNBRIDGE
come on the bridging leg only (Bridge-A/B-Unique-ID name both)."""

from __future__ import annotations

import collections
import logging
import time

from .view import ENDED, Call, leg_dict

log = logging.getLogger("fscontrol.calls")

#: variables a feature sets on the legs it originates (Call Via Work: fscontrol/callviawork):
#: which feature placed the call, for which user, the user's own leg (its uuid is the call's id)
#: and, optionally, whom the user is calling before a bridge says it
VAR_VIA = "fscontrol_via"
VAR_FOR_USER = "fscontrol_cvw_user"
VAR_USER_LEG = "fscontrol_cvw_call"
VAR_DESTINATION = "fscontrol_destination"
RECENT = 1000                                   # ended calls `get` still answers for


def _event_time(event) -> float:
    stamp = event.headers.get("Event-Date-Timestamp")
    return int(stamp) / 1e6 if stamp and stamp.isdigit() and stamp != "0" else time.time()


class CallTracker:
    def __init__(self, config, esl, bus):
        self.esl = esl
        self.bus = bus
        self.names = {u.extension: u.name or u.extension for u in config.users}
        self.context = config.switch.context
        # phones reached through a loopback (`user_dial_string = "loopback/{ext}/phones"`, the
        # live test harness): a user's leg can then be a loopback channel (see user_of_channel)
        self.loopback_phones = config.switch.user_dial_string.startswith("loopback/")
        # uuid -> Call for a user's leg, None for a channel known not to be one
        self.legs: dict[str, Call | None] = {}
        self._recent: collections.OrderedDict[str, Call] = collections.OrderedDict()
        self._held: set[str] = set()   # channels holding their call (a user's leg or not)
        self.rebuilds = 0

    # -- queries (the API's) ---------------------------------------------------------------
    def snapshot(self, user: str | None = None) -> list[dict]:
        """The current calls of `user`'s phone (None: every user's), oldest first."""
        calls = [c for c in self.legs.values() if c is not None and c.ended_at is None
                 and (user is None or c.user == user)]
        calls.sort(key=lambda c: c.started_at)
        return [c.to_dict() for c in calls]

    def get(self, call_id: str) -> dict | None:
        """A current call, or one ended lately (state "ended"), by its id (the leg's uuid)."""
        call = self.legs.get(call_id) or self._recent.get(call_id)
        return call.to_dict() if call is not None else None

    def user_of(self, call_id: str) -> str | None:
        """The user whose phone leg `call_id` is (also for a call ended lately), else None."""
        call = self.legs.get(call_id) or self._recent.get(call_id)
        return call.user if call is not None else None

    def describe(self, uuid: str | None) -> dict:
        """The call dict of any leg: the tracked call, else what the registry knows of it."""
        if not uuid:
            return {}
        call = self.legs.get(uuid) or self._recent.get(uuid)
        if call is not None:
            return call.to_dict()
        ch = self.esl.registry.recent(uuid)
        return leg_dict(ch, None, self.party(ch)) if ch is not None else {"id": uuid}

    # -- who is on a leg ---------------------------------------------------------------------
    def user_of_channel(self, ch) -> str | None:
        """The configured user whose phone this channel is: a call from the phone (its
        authenticated `user_name`, else its caller id) or to it (`dialed_user`, else the
        destination). Loopback legs are the switch's own plumbing, never a phone."""
        if ch is None:
            return None
        names = self.names
        v = ch.variables
        if self._placed_for(ch):     # the device a feature rang for the user (their callback)
            return v[VAR_FOR_USER]
        if (ch.name or "").startswith("loopback/"):
            # the switch's own plumbing, except where the phones are loopbacks: then a call
            # from a phone is the loopback leg entering the users' context with the user's
            # caller id, and a phone being rung the leg the users' dial string created, which
            # leads out of the users' context to the phone (mod_loopback gives both legs of
            # loopback/EXT/CONTEXT that context: trace s12's loopback/answer/trace)
            if not self.loopback_phones:
                return None
            inside = ch.context == self.context
            if (ch.direction == "inbound") != inside:
                return None
        if ch.direction == "inbound":
            if v.get("user_name") in names:     # authenticated by the switch (mod_sofia)
                return v["user_name"]
            # a caller id proves nothing (a trunk may send "1001"): only a loopback phone of
            # the harness is taken by its caller id (a channel rebuilt after a reconnect has
            # its variables from uuid_dump: see EslClient._dumped)
            if (ch.name or "").startswith("loopback/") and ch.caller_id_number in names:
                return ch.caller_id_number
            return None
        if ch.direction == "outbound":
            dest = (ch.destination_number or "").split("@", 1)[0]
            for user in (v.get("dialed_user"), dest, (v.get("presence_id") or "").split("@")[0]):
                if user in names:
                    return user
        return None

    def _placed_for(self, ch) -> bool:
        """The user's own leg of a call a feature placed for them (Call Via Work rings the
        user's device first: a call out of the switch that is the user's call)."""
        v = ch.variables
        return (bool(v.get(VAR_VIA)) and v.get(VAR_USER_LEG) == ch.uuid
                and v.get(VAR_FOR_USER) in self.names)

    def party(self, ch) -> tuple[str, str]:
        """(number, name) of whoever is on channel `ch`: the caller id of a call in, the dialled
        user or destination of a call out; a configured user by their configured name."""
        if ch is None:
            return "", ""
        if ch.direction == "outbound":
            number = ch.variables.get("dialed_user") or (ch.destination_number or "").split("@")[0]
            return number, self.names.get(number) or ""
        number = ch.caller_id_number or ""
        return number, self.names.get(number) or ch.caller_id_name or ""

    def _new(self, ch, at: float) -> Call | None:
        user = self.user_of_channel(ch)
        if user is None:
            return None
        via = ch.variables.get(VAR_VIA) or None
        if ch.direction == "inbound":       # the user's phone called
            direction = "outbound"
            number = (ch.destination_number or "").split("@")[0]
            peer = (number, self.names.get(number, ""))
        elif self._placed_for(ch):          # rung for the user's own call: not a caller
            direction, peer = "outbound", ("", "")
        else:                               # the switch rings the user's phone
            direction = "inbound"
            peer = (ch.caller_id_number or "", ch.caller_id_name or "")
            if peer[0] in self.names:
                peer = (peer[0], self.names[peer[0]])
        dest = ch.variables.get(VAR_DESTINATION)
        if dest:
            peer = (dest, self.names.get(dest, ""))
        # answered or not, it starts as ringing: its CHANNEL_ANSWER (or the rebuild) says more
        return Call(ch.uuid, user, direction, ch.created or at, peer[0], peer[1],
                    ch.other_leg_uuid if ch.other_leg_uuid != ch.uuid else None, via=via)

    def _leg(self, uuid: str, at: float, own: bool = True) -> Call | None:
        """The user's call on channel `uuid`, created at its first event (None: not a user's).
        `own`: called for an event of that channel, on its worker, so its CHANNEL_DESTROY is
        still to come: a channel the registry already buried (the handlers lag behind the
        socket, a short call) is still followed, from its last state; a peer's is not."""
        try:
            return self.legs[uuid]
        except KeyError:
            pass
        registry = self.esl.registry
        ch = registry.recent(uuid) if own else registry.get(uuid)
        if ch is None:   # gone already (a late event, a peer's): nothing to follow or remember
            return None
        call = self.legs[uuid] = self._new(ch, at)
        if call is not None:
            self._publish("call_created", call)
            if ch.ringing or ch.answer_state == "early":
                self._ringing(call)
        return call

    # -- publishing -----------------------------------------------------------------------
    def _publish(self, kind: str, call: Call, **extra) -> None:
        payload = call.to_dict()
        if extra:
            payload.update(extra)
        self.bus.publish(kind, payload, (call.user,))

    def _ringing(self, call: Call) -> None:
        if not call.rang and call.state == "ringing":
            call.rang = True
            self._publish("call_ringing", call)

    def _state_of(self, call: Call) -> str:
        if call.ended_at is not None:
            return ENDED
        if call.answered_at is None:
            return "ringing"
        peer = self.legs.get(call.peer_id) if call.peer_id else None
        if call.holding or (peer.holding if peer is not None else call.peer_id in self._held):
            return "held"
        return "talking"

    def _refresh(self, call: Call | None) -> None:
        """Publish call_updated when the call's state (held / talking) changed."""
        if call is None or call.ended_at is not None:
            return
        state = self._state_of(call)
        if state != call.state:
            call.state = state
            self._publish("call_updated", call)

    def _set_peer(self, call: Call, peer_id: str | None) -> None:
        """The leg `call` is connected to (or ringing) is now `peer_id`: a different party
        (a transfer, a pickup, a retrieve) is published as call_updated."""
        if not peer_id or peer_id == call.id:
            return
        ch = self.esl.registry.recent(peer_id)
        number, name = self.party(ch) if ch is not None else (call.peer_number, call.peer_name)
        changed = (number, name) != (call.peer_number, call.peer_name) and bool(number or name)
        call.peer_id = peer_id
        if changed:
            call.peer_number, call.peer_name = number, name
        if call.orbit and ch is not None:
            call.orbit = None   # out of its orbit, connected to someone
            changed = True
        # a leg still ringing takes its new peer silently: its own call_answered, which may
        # still wait on its channel's worker (another channel's bridge ran first), carries it
        if changed and call.ended_at is None and call.answered_at is not None:
            call.state = self._state_of(call)
            self._publish("call_updated", call)

    # -- events (from handlers) ------------------------------------------------------------
    def created(self, event) -> None:
        """CHANNEL_CREATE (or any first event): a user's leg starts; an outbound leg ringing a
        phone makes the leg that called (Other-Leg-Unique-ID) ring with it."""
        at = _event_time(event)
        call = self._leg(event.uuid, at)
        caller = event.other_leg_uuid
        if caller and caller != event.uuid and event.direction == "outbound":
            origin = self.legs.get(caller)
            if origin is not None and origin.ended_at is None:
                self._set_peer(origin, event.uuid)
        if call is not None and call.peer_id is None and caller and caller != event.uuid:
            call.peer_id = caller

    def ringing(self, event) -> None:
        """CHANNEL_PROGRESS / PROGRESS_MEDIA: the leg (or, for a phone being rung, also the leg
        calling it) rings."""
        at = _event_time(event)
        call = self._leg(event.uuid, at)
        if call is not None:
            self._ringing(call)
        if event.direction == "outbound" and event.other_leg_uuid:
            origin = self.legs.get(event.other_leg_uuid)
            if origin is not None:
                self._ringing(origin)

    def answered(self, event) -> None:
        at = _event_time(event)
        call = self._leg(event.uuid, at)
        if call is None or call.answered_at is not None or call.ended_at is not None:
            return
        stamp = event.headers.get("Caller-Channel-Answered-Time")
        call.answered_at = int(stamp) / 1e6 if stamp and stamp.isdigit() and stamp != "0" else at
        call.state = self._state_of(call)
        self._publish("call_answered", call)

    def bridged(self, event) -> None:
        """CHANNEL_BRIDGE (fired on the bridging leg only): both legs are connected."""
        at = _event_time(event)
        a, b = event.uuid, event.other_leg_uuid
        call = self._leg(a, at)
        if call is not None:
            self._set_peer(call, b)
        if b:
            other = self._leg(b, at, own=False)
            if other is not None:
                self._set_peer(other, a)

    def hold(self, event, on: bool) -> None:
        """CHANNEL_HOLD / UNHOLD, or the call state HELD / UNHOLD: the leg holds or resumes;
        the call is held for both its parties."""
        uuid = event.uuid
        if on:
            self._held.add(uuid)
        else:
            self._held.discard(uuid)
        call = self._leg(uuid, _event_time(event))
        peer_id = None
        if call is not None:
            if call.holding == on and call.state == self._state_of(call):
                return
            call.holding = on
            self._refresh(call)
            peer_id = call.peer_id
        if not peer_id:
            ch = self.esl.registry.get(uuid)
            peer_id = ch.peer if ch is not None else None
        self._refresh(self.legs.get(peer_id) if peer_id else None)

    def callstate(self, event) -> None:
        state = event.call_state
        if state == "HELD":
            self.hold(event, True)
        elif state in ("UNHOLD", "ACTIVE") and event.headers.get("Original-Channel-Call-State") == "HELD":
            self.hold(event, False)

    def hungup(self, event) -> None:
        """CHANNEL_HANGUP (or DESTROY when the hangup was missed): the call ended, with the
        hangup cause."""
        uuid = event.uuid
        call = self.legs.get(uuid)
        if call is None:
            if event.name == "CHANNEL_DESTROY":
                self.legs.pop(uuid, None)
                self._held.discard(uuid)
            return
        self._end(call, event.hangup_cause or call.reason, _event_time(event))
        if event.name == "CHANNEL_DESTROY":
            self.legs.pop(uuid, None)

    def renamed(self, event) -> None:
        old = event.headers.get("Old-Unique-ID")
        if old and old in self.legs:
            call = self.legs.pop(old)
            if call is not None:
                call.id = event.uuid
            self.legs[event.uuid] = call

    def _end(self, call: Call, reason: str | None, at: float) -> None:
        if call.ended_at is not None:
            return
        call.ended_at, call.reason, call.state = at, reason, ENDED
        call.holding = False
        self._held.discard(call.id)
        self._publish("call_ended", call)
        self._recent[call.id] = call
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        # the legs dict keeps it (as ended) until its CHANNEL_DESTROY, so late events of the
        # channel do not create it again; snapshot skips it
        self._refresh(self.legs.get(call.peer_id) if call.peer_id else None)

    # -- park / pickup (their services announce what they did) -------------------------------
    def announce(self, kind: str, uuid: str | None, users, **extra) -> None:
        """Publish `kind` (call_parked, call_retrieved, call_picked_up) for the leg `uuid`, its
        dict completed by `extra` (orbit, parker, retriever, picker, ...), to every user in
        `users` and the user whose leg it is. A parked call shows its orbit until it leaves it."""
        call = self.legs.get(uuid) if uuid else None
        if call is not None and kind == "call_parked":
            call.orbit, call.peer_id = extra.get("orbit"), None   # in its orbit, bridged to nobody
        payload = self.describe(uuid)
        payload.update(extra)
        if call is not None and kind == "call_retrieved":
            call.orbit = None
        self.bus.publish(kind, payload, {u for u in (*users, self.user_of(uuid or "")) if u})

    # -- (re)connect -----------------------------------------------------------------------
    def rebuild(self) -> None:
        """After a (re)connect the registry is what the switch has: a call whose channel is gone
        ended while we were away (published as ended, no cause known); a user's leg we did not
        know is created; one that was answered meanwhile is answered. Nothing is published
        twice."""
        registry = self.esl.registry
        now = time.time()
        ended = 0
        for uuid, call in list(self.legs.items()):
            if uuid not in registry:
                self.legs.pop(uuid, None)
                if call is not None and call.ended_at is None:
                    self._end(call, None, now)
                    ended += 1
        created = 0
        for ch in registry:
            if ch.uuid in self.legs:
                call = self.legs[ch.uuid]
                if call is None:
                    continue
            else:
                call = self._leg(ch.uuid, now)
                if call is None:
                    continue
                created += 1
            if ch.answer_state == "answered" and call.answered_at is None and call.ended_at is None:
                call.answered_at = now
                call.state = self._state_of(call)
                self._publish("call_answered", call)
            if ch.peer and ch.peer != call.peer_id:
                self._set_peer(call, ch.peer)
            self._refresh(call)
        self.rebuilds += 1
        log.info("calls: rebuilt from the switch: %d call(s) live, %d new, %d ended while away",
                 sum(1 for c in self.legs.values() if c is not None and c.ended_at is None),
                 created, ended)
