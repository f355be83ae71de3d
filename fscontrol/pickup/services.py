"""Group Call Pickup's logic: find the calls ringing for a group's members (from the channel
registry the events keep, never a table that can go stale), pick up the longest-ringing one with
`intercept` (FreeSWITCH ends the member's ringing leg with PICKED_OFF, which mod_sofia sends as
`Reason: SIP;cause=200;text="Call completed elsewhere"`: no missed call), tell the member, keep
each group's BLF key, and log every attempt.

Eligible, per issue 12 and what FusionPBX, Kazoo and vanilla `intercept` got wrong: a call
ringing a member's phone (an outbound leg to the member, ringing, unanswered) whose caller's leg
is not bridged (it may be answered: a call transferred to the member, or from an IVR). A member's own outbound call is keyed by its destination, so it
is never a candidate, in early media or not; a parked call is answered, so never either; a
ring-back of a parked call rings its parker and is (taking it retrieves the parked call).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import gevent

from ..esl import ChannelGone, EslError
from ..esl.commands import chat_command, expand_dial, operator_dial
from .. import metrics
from ..flows import Flows, users_domain
from .errors import NothingRinging, PickupError, PickupRefused, PickupStoreUnavailable
from .groups import Group, Groups
from .presence import GroupPresence
from .store import PickupStore

log = logging.getLogger("fscontrol.pickup")

RINGBACK_VAR = "fscontrol_ringback_for"   # set by Call Park on a ring-back leg
BRIDGE_TIMEOUT = 5.0
MEMBERSHIP_TTL = 5.0   # seconds the BLF keys use the membership read last


@dataclass(frozen=True)
class Ringing:
    """One call ringing for a member: `leg` rings the member's phone; `caller_leg` is the
    caller's (None for a park ring-back, whose parked call is `parked`)."""

    member: str
    leg: str
    caller_leg: str | None
    parked: str | None
    since: float
    caller_name: str
    caller_number: str

    @property
    def key(self) -> str:
        return self.caller_leg or self.leg


class PickupService:
    def __init__(self, config, database, esl, park=None):
        self.config = config
        self.pc = config.pickup
        self.esl = esl
        self.park = park                     # the ParkService, for ring-backs of parked calls
        self.store = PickupStore(database, config.switch.identity)
        self.groups = Groups(config)
        self.presence = GroupPresence(esl, self.pc.presence_proto)
        self.taken: set[str] = set()         # calls one picker is taking: never two
        self.claimed: set[str] = set()       # picker channels being served
        self._cached: dict[str, Group] | None = None
        self._blf: dict[str, bool] = {}
        self._blf_pending = False
        self._blf_dirty = False
        self._read_at = 0.0
        self._refresher: gevent.Greenlet | None = None
        self.flows = Flows(log, "pickup", (PickupError,))
        self.domain = ""
        # publishes call_picked_up to the live events (fscontrol.calls.announcer)
        self.announce = lambda kind, uuid, users, **fields: None

    # -- plumbing --------------------------------------------------------------------------
    def spawn(self, fn, *args) -> gevent.Greenlet:
        return self.flows.spawn(fn, *args)

    def stop(self) -> None:
        self.flows.kill_all()
        self.store.close()

    def resolve_domain(self) -> str:
        d = users_domain(self.config, self.esl, log, "pickup")
        self.domain = self.presence.domain = d
        return d

    def current_groups(self) -> dict[str, Group]:
        """The groups as they are now (TOML + run-time changes): read at every pickup."""
        self._cached = self.groups.current(self.store.assignments())
        return self._cached

    def cached_groups(self) -> dict[str, Group]:
        if self._cached is None:
            try:
                return self.current_groups()
            except PickupStoreUnavailable:
                return self.groups.current({})
        return self._cached

    def party(self, uuid: str) -> str | None:
        """The extension of the user on channel `uuid` (a picker's inbound leg)."""
        ch = self.esl.registry.get(uuid)
        if ch is None:
            return None
        return ch.variables.get("user_name") or ch.caller_id_number

    # -- what rings ------------------------------------------------------------------------
    def ringing(self, members) -> list[Ringing]:
        """Eligible calls ringing for `members`, the longest-ringing first (one per caller)."""
        reg = self.esl.registry
        found: dict[str, Ringing] = {}
        for member in members:
            for leg in reg.ringing_for(member, "outbound"):
                if leg.answered or leg.bridged_to:
                    continue
                parked = leg.variables.get(RINGBACK_VAR)
                if parked:
                    r = Ringing(member, leg.uuid, None, parked, leg.created,
                                leg.caller_id_name or "", leg.caller_id_number or "")
                else:
                    caller = reg.get(leg.other_leg_uuid) if leg.other_leg_uuid else None
                    if caller is None or caller.bridged_to:
                        continue
                    r = Ringing(member, leg.uuid, caller.uuid, None, leg.created,
                                caller.caller_id_name or "", caller.caller_id_number or "")
                if r.key not in found or r.since < found[r.key].since:
                    found[r.key] = r
        return sorted(found.values(), key=lambda r: r.since)

    # -- pickup to a phone (the HTTP API) ----------------------------------------------------
    def pickup_to_phone(self, user: str, *, group: str | None = None,
                        member: str | None = None, uuid: str | None = None) -> str:
        """Ring `user`'s phone to pick up a call ringing in `group` (its number) or for `member`
        (directed pickup): the leg is originated to the group number, or to the directed-pickup
        code and the member, in the switch context, so once answered it picks up exactly as if
        the user had dialled it (and loses to a faster picker the same way). Checked first, so
        the caller learns at once: NothingRinging (404), PickupRefused (403). Returns the new
        leg's uuid."""
        groups = self.groups_now()
        if group is not None:
            g = groups.get(group)
            if g is None:
                raise NothingRinging(f"group: {group} is not a pickup group", "group")
            if not g.may_pick(user):
                raise PickupRefused(f"group: user {user} may not pick up group {group}'s calls",
                                    "group")
            targets, extension, label = g.members - {user}, group, f"Pickup {group}"
        else:
            g = Groups.group_of(groups, member)
            if g is not None and not g.may_pick(user):
                raise PickupRefused(f"member: user {user} may not pick up {member}'s calls",
                                    "member")
            extension = f"{self.config.features.directed_pickup}{member}"
            targets, label = {member} - {user}, f"Pickup {member}"
        if not self.ringing(targets):
            where = f"group {group}" if group is not None else f"user {member}"
            raise NothingRinging(f"nothing is ringing for {where}",
                                 "group" if group is not None else "member")
        domain = self.domain or self.resolve_domain()
        dial = operator_dial(expand_dial(self.config.switch.user_dial_string, ext=user,
                                         domain=domain, global_var=self.esl.global_getvar))
        # the phone shows what it is for; the dialplan's pickup learns who picks up from
        # user_name (what `party` reads first: the caller id number is the group's here)
        o = self.esl.originate(dial, {"origination_caller_id_name": label,
                                      "origination_caller_id_number": extension,
                                      "user_name": user, "originate_timeout": 30},
                               extension=extension, dialplan="XML",
                               context=self.config.switch.context, uuid=uuid)
        log.info("pickup: ringing %s to pick up at %s (leg %s)", user, extension, o.uuid)
        return o.uuid

    # -- pickups ---------------------------------------------------------------------------
    def claim(self, picker: str) -> bool:
        if picker in self.claimed:
            return False
        self.claimed.add(picker)
        return True

    def group_pickup(self, picker: str, number: str) -> Ringing | None:
        try:
            return self._group_pickup(picker, number)
        finally:
            self.claimed.discard(picker)

    def _group_pickup(self, picker: str, number: str) -> Ringing | None:
        who = self.party(picker)
        group = self.groups_now().get(number)
        if group is None or not group.members:
            return self._nothing(picker, who, number, "no such group" if group is None else "empty group")
        if not group.may_pick(who):
            return self._refused(picker, who, number)
        return self._take(picker, who, number, group.members - {who}, "group")

    def directed_pickup(self, picker: str, target: str) -> Ringing | None:
        try:
            who = self.party(picker)
            group = Groups.group_of(self.groups_now(), target)
            if group is not None and not group.may_pick(who):
                return self._refused(picker, who, f"{self.config.features.directed_pickup}{target}")
            return self._take(picker, who, f"{self.config.features.directed_pickup}{target}",
                              {target} - {who}, "directed")
        finally:
            self.claimed.discard(picker)

    def groups_now(self) -> dict[str, Group]:
        """The groups now; without the database, the last ones read (else the TOML's)."""
        try:
            return self.current_groups()
        except PickupStoreUnavailable as e:
            log.error("pickup: membership from before, database unavailable: %s", e)
            return self.cached_groups()

    def _take(self, picker: str, who: str | None, number: str, members,
              kind: str) -> Ringing | None:
        """The longest-ringing call not already being taken (nor the picker's own, from another
        of their phones); if it cannot be taken (its caller hung up, it was answered meanwhile)
        the next one; none: the nothing-ringing prompt."""
        for r in self.ringing(members):
            if r.key in self.taken or (who and self._placed_by(r, who)):
                continue
            self.taken.add(r.key)
            try:
                if self._connect(picker, r):
                    self._done(picker, who, number, r, kind)
                    return r
            finally:
                self.taken.discard(r.key)
        return self._nothing(picker, who, number, "nothing ringing")

    def _placed_by(self, r: Ringing, who: str) -> bool:
        caller = self.esl.registry.get(r.caller_leg) if r.caller_leg else None
        return caller is not None and who in (caller.variables.get("user_name"),
                                               caller.caller_id_number)

    def _connect(self, picker: str, r: Ringing) -> bool:
        if r.parked:
            return self.park is not None and self.park.take_ringback(picker, r.parked, r.leg)
        try:
            # FreeSWITCH's own guard (switch_ivr_intercept_session, switch_ivr_bridge.c): refuse
            # a caller bridged meanwhile (the member answered), whatever we saw a moment ago
            self.esl.uuid_setvar(picker, "intercept_unbridged_only", "true")
            # when the picker's bridge ends the caller's call ends: an intercepted channel would
            # otherwise go on with its extension (the member's voicemail); switch_ivr_bridge.c
            # checks transfer_after_bridge before anything else
            self.esl.uuid_setvar(r.caller_leg, "transfer_after_bridge", "hangup:inline")
            bridged = self.esl.wait_for(picker, "CHANNEL_BRIDGE", BRIDGE_TIMEOUT)
            done = self.esl.sendmsg(picker, "intercept", r.caller_leg, timeout=BRIDGE_TIMEOUT)
        except EslError as e:
            log.info("pickup: intercept of %s for %s not sent: %s", r.caller_leg, picker, e)
            return False
        try:
            done.wait(BRIDGE_TIMEOUT)
            # the bridge follows the intercept's completion by a few ms on a real switch (s05),
            # longer when its legs are slow to settle: once the member's leg is gone (picked
            # off) the pickup happened, wait for its bridge; while it still rings after a
            # second, the intercept was refused
            reg = self.esl.registry
            deadline = gevent.get_hub().loop.now() + BRIDGE_TIMEOUT
            refused_after = gevent.get_hub().loop.now() + 1.0
            while True:
                peer = reg.get(picker)
                if (peer is not None and peer.bridged_to == r.caller_leg) or (
                        bridged.successful() and bridged.value.other_leg_uuid == r.caller_leg):
                    return True
                if peer is None:
                    return False          # the picker hung up
                caller = reg.get(r.caller_leg)
                if caller is None or caller.answer_state == "hangup":
                    return False          # the caller gave up: nothing left to pick up
                if caller.bridged_to not in (None, picker):
                    return False          # answered by the member first (intercept refused)
                now = gevent.get_hub().loop.now()
                member_ringing = r.leg in reg
                if now >= deadline or (member_ringing and now >= refused_after):
                    return False
                gevent.wait([bridged], timeout=0.05)
        except (EslError, ChannelGone) as e:
            log.info("pickup: %s not picked up by %s: %s", r.caller_leg, picker, e)
            return False
        finally:
            if not bridged.ready():
                bridged.cancel()

    def _done(self, picker: str, who: str | None, number: str, r: Ringing, kind: str) -> None:
        caller = r.caller_name or r.caller_number or "unknown"
        log.info("pickup: %s's call (ringing %s) picked up by %s via %s", caller, r.member, who, number)
        metrics.pickups.labels(kind).inc()
        # the call that rang (the caller's leg; a park ring-back: the parked call)
        self.announce("call_picked_up", r.caller_leg or r.parked, [who, r.member], picker=who,
                      callee=r.member, group=number if kind == "group" else None,
                      picker_call=picker)
        self._log("pickup", picker, r.key, number, member=r.member, picker=who,
                  caller=r.caller_number or None, ringback=bool(r.parked) or None)
        if self.pc.notify:
            self._notify(r.member, caller, who or "someone")
        self.ring_changed()

    def _notify(self, member: str, caller: str, picker: str) -> None:
        domain = self.domain or self.resolve_domain()
        try:
            text = self.pc.message.format(caller=caller, picker=picker)
        except (ValueError, KeyError, IndexError) as e:   # check refuses these; never crash
            log.warning("pickup: pickup.message %r cannot be filled in: %s", self.pc.message, e)
            text = f"{caller}'s call picked up by {picker}"
        text = " ".join(text.replace("|", " ").split())
        try:
            reply = self.esl.bgapi(chat_command("sip", f"{picker}@{domain}", f"{member}@{domain}",
                                                text), timeout=10)
            log.info("pickup: message to %s: %s", member, reply.text.strip())
        except EslError as e:
            log.info("pickup: message to %s not sent: %s", member, e)

    def _nothing(self, picker: str, who, number: str, reason: str) -> None:
        log.info("pickup: %s dialled %s: %s", who, number, reason)
        self._log("pickup_empty", picker, None, number, picker=who, reason=reason)
        self._prompt_and_hangup(picker, self.pc.prompt_nothing_ringing)
        return None

    def _refused(self, picker: str, who, number: str) -> None:
        log.info("pickup: %s may not pick up %s", who, number)
        self._log("pickup_refused", picker, None, number, picker=who)
        self._prompt_and_hangup(picker, self.pc.prompt_refused)
        return None

    def _prompt_and_hangup(self, uuid: str, prompt: str) -> None:
        try:
            self.esl.sendmsg(uuid, "playback", prompt, timeout=30).wait(30)
        except (EslError, ChannelGone):
            pass
        try:
            self.esl.hangup(uuid)
        except EslError:
            pass

    def _log(self, action, uuid, other, number, **details) -> None:
        try:
            self.store.log(action, uuid, other, number, **details)
        except PickupStoreUnavailable as e:
            log.warning("pickup: %s not logged: %s", action, e)

    # -- BLF ------------------------------------------------------------------------------
    def ring_changed(self) -> None:
        """Something rang, stopped or was answered: re-check every group's key (once for a burst
        of events)."""
        self._blf_dirty = True
        if self._blf_pending:
            return
        self._blf_pending = True

        def run():     # one publisher at a time, until no change is left
            try:
                while self._blf_dirty:
                    self._blf_dirty = False
                    self.publish_changes()
            finally:
                self._blf_pending = False
        self.spawn(run)

    def publish_changes(self, force: bool = False) -> None:
        now = gevent.get_hub().loop.now()
        if now - self._read_at > MEMBERSHIP_TTL:     # run-time changes reach the keys too
            self._read_at = now
            try:
                self.current_groups()
            except PickupStoreUnavailable:
                pass
        for number, group in self.cached_groups().items():
            calls = self.ringing(group.members)
            state = bool(calls)
            if force or self._blf.get(number) != state:
                first = calls[0] if calls else None
                if self.presence.publish(number, state, first.caller_name if first else "",
                                         first.caller_number if first else ""):
                    self._blf[number] = state

    def on_connect(self) -> None:
        self.resolve_domain()
        try:
            self.current_groups()
        except PickupStoreUnavailable as e:
            log.warning("pickup: groups from the configuration only: %s", e)
        self._blf.clear()
        self.publish_changes(force=True)
        self._serve_waiting()
        if self._refresher is None or self._refresher.dead:
            self._refresher = self.spawn(self._refresh_forever)

    def _refresh_forever(self) -> None:
        """Run-time membership changes reach the BLF keys within MEMBERSHIP_TTL, events or not."""
        while True:
            gevent.sleep(MEMBERSHIP_TTL)
            self._read_at = 0.0
            self.ring_changed()

    def _serve_waiting(self) -> None:
        """Pickers already waiting in park at a group number or the directed pickup code when we
        (re)connected: their CHANNEL_PARK reached no controller. Served now."""
        code = self.config.features.directed_pickup
        reg = self.esl.registry
        for uuid, app in list(reg.at_connect.items()):
            ch = reg.get(uuid)
            if ch is None or app != "park" or ch.state != "CS_EXECUTE" or ch.bridged_to:
                continue
            dest = ch.destination_number or ""
            if self.groups.is_group_number(dest) and self.claim(uuid):
                log.warning("pickup: %s waits at %s unserved; serving it now", uuid, dest)
                self.spawn(self.group_pickup, uuid, dest)
            elif code and dest.startswith(code) and dest[len(code):].isdigit() and self.claim(uuid):
                log.warning("pickup: %s waits at %s unserved; serving it now", uuid, dest)
                self.spawn(self.directed_pickup, uuid, dest[len(code):])
