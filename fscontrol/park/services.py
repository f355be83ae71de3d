"""Call Park's logic: park (code, DTMF, CLI), retrieve, timers, ring-back, fallback, abandon and
the reconcile that follows every (re)connect. Handlers turn events into calls of these methods;
every state change goes through `StateMachine.transition`.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from datetime import datetime, timedelta, timezone

import gevent

from .. import metrics
from ..esl import (ChannelGone, CommandError, CommandTimeout, ConnectionLost, EslError,
                   InvalidArgument)
from ..esl.commands import chat_command, expand_dial, new_uuid, operator_dial
from ..flows import Flows, users_domain
from ..render import contract
from .errors import (CallBusy, NoOrbitAvailable, NotBridged, OrbitEmpty, ParkError,
                     ParkStoreUnavailable)
from .locks import CallLocks
from .music import HoldMusic
from .presence import Presence
from .states import ParkedCall, ParkRequest, State, StateMachine
from .store import ParkStore
from .view import RangeSettings, settings_for

log = logging.getLogger("fscontrol.park")

# what a {} block, an inline dialplan or a caller-id name cannot carry: dropped from names.
# ":" too: a SIP phone showed only what follows the last ":" of a caller-id name (live run of
# 2026-12-01, baresip on mod_sofia), so "Parked 7000: Alice" rang as " Alice"
_UNSAFE_NAME = re.compile(r"[,{}\[\]'\"|^():\x00-\x1f\x7f$\u202a-\u202e\u2066-\u2069]")
# extra seconds the database deadline of a ring-back allows beyond ringback_timeout
RINGBACK_GRACE = 10
# retrying work the database refused: first delay, cap (seconds), doubling in between
RETRY_BACKOFF = (0.5, 30.0)
# set on a channel when it is parked, "<orbit>/<parker>": after a reconnect, a channel still in
# park that carries it and has no row is re-adopted (its row was lost while the switch was away)
VAR_PARKED = "fscontrol_parked"
_IN_PARK_APPS = frozenset({"park", "playback", "endless_playback"})


def now() -> datetime:
    return datetime.now(timezone.utc)


def safe_name(text: str) -> str:
    return " ".join(_UNSAFE_NAME.sub(" ", text or "").split())


class ParkService:
    def __init__(self, config, database, esl, controller_id: str | None = None):
        self.config = config
        self.park_config = config.park
        self.esl = esl
        self.ranges = config.ranges("park")
        # rows belong to the switch; the controller id only says which process runs their timers
        self.store = ParkStore(database, config.switch.identity)
        self.controller_id = controller_id or f"{socket.gethostname()}:{os.getpid()}"
        self.machine = StateMachine(self.store, self.controller_id, self._changed)
        # publishes call_parked / call_retrieved to the live events (fscontrol.calls.announcer)
        self.announce = lambda kind, uuid, users, **fields: None
        self.presence = Presence(esl, self.park_config.presence_proto)
        self.music = HoldMusic(self.park_config, self.ranges)
        self.locks = CallLocks()
        self.domain = ""
        self._timers: dict[str, gevent.Greenlet] = {}  # parked channel uuid -> sleeping timer
        self._ringbacks: set[str] = set()  # ring-back legs this process is waiting on
        self.parked: set[str] = set()  # channel uuids parked (or being parked) by us
        self.flows = Flows(log, "park", (ParkError,))
        self._reconcile_retry: gevent.Greenlet | None = None
        self._stale_ringbacks: set[str] = set()  # ring-backs placed blind: hang up once seen
        self.handling: set[str] = set()  # channels a park-code or retrieve flow has claimed
        self.reconciles = 0  # reconciles finished (one per (re)connect whose database answered)

    # -- plumbing --------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while work handed to a greenlet by `spawn` is still running (timers excluded)."""
        return bool(self.flows)

    def spawn(self, fn, *args, **kwargs) -> gevent.Greenlet:
        return self.flows.spawn(fn, *args, **kwargs)

    def stop(self) -> None:
        """Stop timers and flows (the database keeps every parked call for the next start)."""
        self.flows.kill_all()
        for g in list(self._timers.values()) + [self._reconcile_retry]:
            if g is not None:
                g.kill(block=False)
        self._timers.clear()
        self.store.close()

    def settings(self, range_name: str) -> RangeSettings:
        return settings_for(self.config, range_name)

    def resolve_domain(self) -> str:
        """The users' domain (switch.domain, asked from the switch when it is a variable): for
        dial strings, voicemail boxes and chat. BLF presence uses park.presence_domain when set."""
        d = users_domain(self.config, self.esl, log, "park")
        self.domain = d
        self.presence.domain = self.park_config.presence_domain or d
        return d

    def user_dial(self, extension: str) -> str:
        domain = self.domain or self.resolve_domain()
        return operator_dial(expand_dial(self.config.switch.user_dial_string, ext=extension,
                                         domain=domain, global_var=self.esl.global_getvar))

    def user_name(self, extension: str) -> str:
        user = next((u for u in self.config.users if u.extension == extension), None)
        return user.name if user and user.name else extension

    def party(self, uuid: str) -> tuple[str, str]:
        """(name, number) of the person on channel `uuid`: the caller id of an inbound leg, the
        dialled user of an outbound one (whose caller id is the other party's)."""
        ch = self.esl.registry.get(uuid)
        if ch is None:
            return "", ""
        return self._party_of(ch)

    def _party_of(self, ch) -> tuple[str, str]:
        if ch.direction == "outbound":
            number = ch.variables.get("dialed_user") or (ch.destination_number or "").split("@")[0]
            if number != self.park_config.code:
                return self.user_name(number), number
            # at the park code with no dialed_user (a channel rebuilt from `show channels` after
            # a reconnect carries none): the party is who the caller id names
        return safe_name(ch.caller_id_name or ""), ch.caller_id_number or ""

    def _schedule(self, call: ParkedCall) -> None:
        self._cancel_timer(call.channel_uuid)
        delay = max(0.0, (call.deadline - now()).total_seconds())
        timer = gevent.spawn_later(delay, self._fire, call.channel_uuid)
        self._timers[call.channel_uuid] = timer

    def _fire(self, uuid: str, failures: int = 0) -> None:
        self._timers.pop(uuid, None)
        self.spawn(self._deadline_due, uuid, failures)

    @staticmethod
    def retry_delay(failures: int) -> float:
        first, cap = RETRY_BACKOFF
        return min(cap, first * 2 ** failures)

    def _deadline_due(self, uuid: str, failures: int) -> None:
        """A deadline is due. Without the switch it waits: the reconcile after the reconnect
        schedules it again (overdue, so at once). A database that does not answer: retried
        with backoff until it does. Any other error: the fallback, never a stuck row."""
        if not self.esl.connected:
            log.warning("park: deadline of %s waits for the switch to come back", uuid)
            return
        try:
            self.on_deadline(uuid)
        except ParkStoreUnavailable as e:
            delay = self.retry_delay(failures)
            log.error("park: deadline of %s not handled, database unavailable (%s); retrying in %.1fs",
                      uuid, e, delay)
            self._timers[uuid] = gevent.spawn_later(delay, self._fire, uuid, failures + 1)
        except Exception:
            log.exception("park: deadline of %s failed; sending the call to the fallback", uuid)
            self._fallback_after_error(uuid, "error while handling the deadline")

    def _fallback_after_error(self, uuid: str, reason: str) -> None:
        try:
            with self.locks.hold(uuid):
                call = self.store.by_channel(uuid)
                if call is not None:
                    self._fallback(call, reason)
        except Exception:
            log.exception("park: fallback of %s after an error failed too", uuid)

    def _cancel_timer(self, uuid: str) -> None:
        timer = self._timers.pop(uuid, None)
        if timer is not None:
            timer.kill(block=False)

    def _deadline_for(self, rng) -> datetime:
        return now() + timedelta(seconds=self.settings(rng.name).timeout)

    def _play(self, uuid: str, path: str, wait: bool = True, timeout: float = 30.0) -> None:
        """Play a prompt to one leg (parked or bridged: sendmsg reaches both) and wait for it."""
        try:
            ex = self.esl.sendmsg(uuid, "playback", path, timeout=timeout)
            if wait:
                ex.wait(timeout)
        except (EslError, ChannelGone) as e:
            log.info("park: prompt %s to %s not played: %s", path, uuid, e)

    def _hold(self, call: ParkedCall) -> None:
        """Hold music on the parked channel (uuid_broadcast as in trace s02)."""
        source = self.music.source(call.range_name)
        try:
            self.esl.uuid_broadcast(call.channel_uuid, HoldMusic.broadcast_path(source), "aleg")
        except EslError as e:
            log.warning("park: hold music for %s at %s not started: %s", call.caller, call.orbit, e)

    def _stop_media(self, uuid: str) -> None:
        try:
            self.esl.uuid_break(uuid, all=True)
        except EslError:
            pass

    def _mark(self, call: ParkedCall) -> None:
        """Tag the parked channel on the switch (see VAR_PARKED): the switch then knows the
        call is ours even if its row is lost."""
        try:
            self.esl.uuid_setvar(call.channel_uuid, VAR_PARKED, f"{call.orbit}/{call.parker or ''}")
        except EslError as e:
            log.warning("park: could not tag %s at %s: %s", call.caller, call.orbit, e)

    def _parked_presence(self, call: ParkedCall) -> None:
        self.presence.publish(call.orbit, True, call.caller_name, call.caller_number)

    def _freed(self, call: ParkedCall, untag: bool = True, publish: bool = True) -> None:
        """The call left its orbit. Its VAR_PARKED tag goes first, before the switch is told
        where the call goes: a call being retrieved, rung through or sent away is never
        re-adopted (if the switch cannot be told, the call stays in park, tagged, and is).
        `publish` False: the caller sends the orbit's idle presence itself (after the bridge,
        off the retriever's path)."""
        self._cancel_timer(call.channel_uuid)
        self.parked.discard(call.channel_uuid)
        if untag:
            try:
                self.esl.uuid_setvar(call.channel_uuid, VAR_PARKED)
            except EslError as e:
                log.info("park: tag of %s not removed: %s", call.channel_uuid, e)
        if publish:
            self.presence.publish(call.orbit, False)

    def _changed(self, action: str, call: ParkedCall, other_uuid: str | None) -> None:
        """Every park and every move of a parked call (StateMachine's listener): counted, and
        a park or a retrieve announced to the users concerned (the parker, the retriever and
        the parked caller when they are users)."""
        if action == "park":
            metrics.parks.inc()
            self.announce("call_parked", call.channel_uuid, [call.parker], orbit=call.orbit,
                          parker=call.parker)
        elif call.state is State.RETRIEVED:
            metrics.retrieves.inc()
            if action == "ringback_answered":
                retriever = call.parker
            else:
                _, number = self.party(other_uuid) if other_uuid else ("", "")
                retriever = number if self.is_user(number) else None
            self.announce("call_retrieved", call.channel_uuid, [retriever, call.parker],
                          orbit=call.orbit, retriever=retriever, parker=call.parker)

    # -- parking ---------------------------------------------------------------------------
    def park(self, request: ParkRequest, deadline_for=None) -> ParkedCall:
        """Allocate an orbit for a channel that is already answered and parked (park code, or the
        DTMF flow after its transfer), start hold music and the timer, publish presence."""
        self.parked.add(request.channel_uuid)
        try:
            with self.locks.hold(request.channel_uuid):
                call = self.machine.park(request, self.ranges, self.park_config.allocation,
                                         deadline_for or self._deadline_for)
                self._hold(call)    # what the caller waits for comes first
                self._mark(call)
                self._schedule(call)
        except BaseException:
            self.parked.discard(request.channel_uuid)
            raise
        self._parked_presence(call)
        return call

    def park_code(self, uuid: str, parker: str | None) -> ParkedCall | None:
        """A channel dialled (or was transferred to) the park code and sits in `park`."""
        try:
            return self._park_code(uuid, parker)
        finally:
            self.handling.discard(uuid)

    def _park_code(self, uuid: str, parker: str | None) -> ParkedCall | None:
        name, number = self.party(uuid)
        if parker and not self.is_user(parker):  # only our users park calls
            parker = None
        try:
            call = self.park(ParkRequest(uuid, name, number, parker, "code"))
        except NoOrbitAvailable as e:
            log.warning("park: %s (%s) not parked: %s", number or uuid, uuid, e)
            self._refused(uuid, parker, name or number, str(e), self.park_config.prompt_no_orbit)
            return None
        except ParkStoreUnavailable as e:
            log.error("park: %s (%s) not parked, database unavailable: %s", number or uuid, uuid, e)
            self._refused(uuid, parker, name or number, f"database unavailable: {e}",
                          self.park_config.prompt_error)
            return None
        self._announce_by_message(call)
        return call

    def _refused(self, uuid: str, parker: str | None, caller: str, reason: str, prompt: str) -> None:
        """A call sent to the park code that could not be parked (no free orbit, no database)
        hears `prompt`, then goes back to the user who transferred it, else to the fallback,
        else hears the disconnect prompt: it never waits in park with nobody watching."""
        self.parked.discard(uuid)
        self._log_quietly("park_refused", uuid, reason=reason, parker=parker)
        self._play(uuid, prompt)
        if parker:
            self._return_to_parker(uuid, parker, caller)
        else:
            self._send_away(uuid, self.park_config.fallback)

    def _log_quietly(self, action: str, uuid: str, *args, **details) -> None:
        """A call_log row that is not worth failing a call for (the database may be the problem)."""
        try:
            self.store.log_event(action, uuid, *args, **details)
        except ParkStoreUnavailable as e:
            log.warning("park: %s of %s not logged: %s", action, uuid, e)

    def _return_to_parker(self, uuid: str, parker: str, caller: str) -> None:
        """No orbit for a call its parker already transferred away: ring the parker so the call
        stays with them (in Lync a refused park leaves the call with the parker). Unanswered:
        the park fallback, else the disconnect prompt."""
        rb = new_uuid()
        try:
            o = self.esl.originate(self.user_dial(parker),
                                   {"origination_caller_id_name": safe_name(f"Not parked - {caller}"),
                                    "originate_timeout": int(self.park_config.ringback_timeout)},
                                   app="park", uuid=rb)
            o.wait_answer(self.park_config.ringback_timeout + 5)
            self.esl.uuid_bridge(rb, uuid)
        except (EslError, ChannelGone) as e:
            log.warning("park: returning %s to %s failed: %s", uuid, parker, e)
            self._kill(rb)
            self._log_quietly("return_failed", uuid, rb, parker=parker, reason=str(e))
            self._send_away(uuid, self.park_config.fallback)
            return
        self._log_quietly("returned_to_parker", uuid, rb, parker=parker)

    def park_dtmf(self, presser: str) -> ParkedCall | None:
        """The presser pressed park.dtmf_code in a bridged call: park its peer, tell the presser
        the orbit (spoken, and a SIP MESSAGE), then end the presser's leg."""
        ch = self.esl.registry.get(presser)
        peer = ch.bridged_to if ch is not None else None
        if not peer:
            try:
                peer = self.esl.uuid_getvar(presser, "bridge_uuid")
            except EslError:
                peer = None
        if not peer or peer not in self.esl.registry:
            raise NotBridged(f"park DTMF on {presser}: no bridged peer to park")
        _, parker = self.party(presser)
        name, number = self.party(peer)
        self.parked.add(peer)
        try:
            with self.locks.hold(peer):
                try:
                    call = self.machine.park(ParkRequest(peer, name, number, parker or None, "dtmf"),
                                             self.ranges, self.park_config.allocation,
                                             self._deadline_for)
                except NoOrbitAvailable as e:
                    log.warning("park: DTMF park of %s by %s refused: %s", number, parker, e)
                    self.store.log_event("park_refused", peer, presser, reason=str(e), parker=parker)
                    self.parked.discard(peer)
                    self._play(presser, self.park_config.prompt_no_orbit)
                    return None
                except ParkStoreUnavailable as e:
                    log.error("park: DTMF park of %s by %s failed, database unavailable: %s",
                              number, parker, e)
                    self.parked.discard(peer)
                    self._play(presser, self.park_config.prompt_error)
                    return None
                # the presser must outlive its bridge (to hear the orbit); the peer leaves the
                # bridge by a transfer to `park`, so neither hangs up when the bridge ends
                for uuid, var, value in ((presser, "hangup_after_bridge", "false"),
                                         (presser, "park_after_bridge", "true"),
                                         (peer, "hangup_after_bridge", "false")):
                    try:
                        self.esl.uuid_setvar(uuid, var, value)
                    except EslError as e:
                        log.warning("park: setvar %s on %s: %s", var, uuid, e)
                presser_parked = self.esl.wait_for(presser, "CHANNEL_PARK", 5)
                peer_parked = self.esl.wait_for(peer, "CHANNEL_PARK", 5)
                try:
                    self.esl.uuid_transfer_inline(peer, ["park"])
                    peer_parked.get()
                except (EslError, ChannelGone) as e:
                    presser_parked.cancel()
                    log.warning("park: DTMF park of %s: the call could not be moved: %s", number, e)
                    gone = self.machine.transition(call, State.ABANDONED, "abandon", reason=str(e))
                    if gone:
                        self._freed(call, untag=False)
                    return None
                self._mark(call)
                self._hold(call)
                self._schedule(call)
        except CallBusy:
            self.parked.discard(peer)
            raise
        self._parked_presence(call)
        try:
            presser_parked.get()
        except (EslError, ChannelGone):
            pass
        try:
            self.esl.sendmsg(presser, "say", f"{self.park_config.say_language} number iterated "
                                             f"{call.orbit}", timeout=30).wait(30)
        except (EslError, ChannelGone) as e:
            log.info("park: orbit %s not announced to %s: %s", call.orbit, parker, e)
        self._announce_by_message(call)
        try:
            self.esl.hangup(presser)
        except EslError:
            pass
        return call

    def _announce_by_message(self, call: ParkedCall) -> None:
        """SIP MESSAGE "<caller> parked at <orbit>" to the parker (`chat` API, trace s08), as
        text/plain; a phone that does not take messages makes the switch answer "Not Sent",
        which is only logged."""
        if not call.parker or not self.park_config.send_message:
            return
        domain = self.domain or self.resolve_domain()
        text = safe_name(f"{call.caller_name or call.caller_number} parked at {call.orbit}")
        try:
            reply = self.esl.bgapi(chat_command("sip", f"{call.orbit}@{domain}",
                                                f"{call.parker}@{domain}", text), timeout=10)
            log.info("park: message to %s: %s", call.parker, reply.text.strip())
        except EslError as e:
            log.info("park: message to %s not sent: %s", call.parker, e)

    # -- retrieval -------------------------------------------------------------------------
    def retrieve(self, retriever: str, orbit: str) -> ParkedCall | None:
        """Bridge the retriever to the call parked at `orbit`; exactly one of several racing
        retrievers wins (the DELETE is the claim), the others get the empty-orbit treatment."""
        try:
            return self._retrieve(retriever, orbit)
        finally:
            self.handling.discard(retriever)

    def _retrieve(self, retriever: str, orbit: str) -> ParkedCall | None:
        won = None
        try:
            call = self.store.by_orbit(orbit)
            if call is not None:
                with self.locks.hold(call.channel_uuid):
                    won = self.machine.transition(call, State.RETRIEVED, "retrieve",
                                                  other_uuid=retriever)
        except ParkStoreUnavailable as e:
            log.error("park: retrieve of %s by %s failed, database unavailable: %s", orbit, retriever, e)
            self._play(retriever, self.park_config.prompt_error)
            self._hangup(retriever)
            return None
        if won is None:
            self.store.log_event("retrieve_empty", retriever, orbit=orbit)
            self._empty(retriever, orbit)
            return None
        self._freed(won, publish=False)
        if call.ringback_uuid:
            self._kill(call.ringback_uuid)
        self._stop_media(won.channel_uuid)
        try:
            self.esl.uuid_bridge(retriever, won.channel_uuid)
        except EslError as e:
            log.warning("park: retrieve of %s: bridge failed: %s", orbit, e)
            self._repark(won, f"retrieve failed: {e}")
            self._empty(retriever, orbit)
            return None
        self.presence.publish(won.orbit, False)
        return won

    def retrieve_to_phone(self, user: str, orbit: str, uuid: str | None = None) -> str:
        """Ring `user`'s phone for the call parked at `orbit` (the HTTP API's retrieve): the
        leg is originated to the orbit's extension in the switch context, so once answered it
        retrieves exactly as if the user had dialled the orbit (and loses to a faster
        retriever the same way). Returns the new leg's uuid; OrbitEmpty when nothing is there."""
        if self.store.by_orbit(orbit) is None:
            raise OrbitEmpty(f"no call is parked at orbit {orbit}", "orbit")
        o = self.esl.originate(self.user_dial(user),
                               {"origination_caller_id_name": safe_name(f"Parked call {orbit}"),
                                "origination_caller_id_number": orbit,
                                "originate_timeout": int(self.park_config.ringback_timeout)},
                               extension=orbit, dialplan="XML", context=self.config.switch.context,
                               uuid=uuid)
        log.info("park: ringing %s to retrieve orbit %s (leg %s)", user, orbit, o.uuid)
        return o.uuid

    def _repark(self, call: ParkedCall, why: str) -> None:
        """A call taken out of its orbit could not be connected: back into park (a new orbit,
        hold music, the timer from the start), else its fallback, never silence in park."""
        if call.channel_uuid not in self.esl.registry:
            return
        log.warning("park: %s parked again: %s", call.caller, why)
        try:
            self.park(ParkRequest(call.channel_uuid, call.caller_name, call.caller_number,
                                  call.parker, "repark"))
        except (ParkError, EslError) as e:
            log.error("park: %s could not be parked again (%s): fallback", call.caller, e)
            self._send_away(call.channel_uuid, self.settings(call.range_name).fallback)

    def _empty(self, retriever: str, orbit: str) -> None:
        log.info("park: orbit %s is empty for %s", orbit, retriever)
        self._play(retriever, self.park_config.prompt_empty_orbit)
        self._hangup(retriever)

    def _hangup(self, uuid: str) -> None:
        try:
            self.esl.hangup(uuid)
        except EslError:
            pass

    def _kill(self, uuid: str) -> None:
        try:
            self.esl.uuid_kill(uuid, "NORMAL_CLEARING")
        except EslError:
            pass

    # -- the call ends while parked ----------------------------------------------------------
    def abandoned(self, uuid: str, cause: str | None, failures: int = 0) -> None:
        """A parked caller hung up. A database that does not answer does not lose it: retried
        with backoff, so the call is recorded as `abandon` once the database is back."""
        if uuid not in self.parked:
            return
        try:
            self._abandoned(uuid, cause)
        except ParkStoreUnavailable as e:
            delay = self.retry_delay(failures)
            log.error("park: hang-up of parked %s not recorded, database unavailable (%s); "
                      "retrying in %.1fs", uuid, e, delay)
            self.flows.track(gevent.spawn_later(delay, self.spawn, self.abandoned, uuid, cause,
                                                failures + 1))

    def _abandoned(self, uuid: str, cause: str | None) -> None:
        with self.locks.hold(uuid):
            call = self.store.by_channel(uuid)
            if call is None:
                self.parked.discard(uuid)
                return
            if self.machine.transition(call, State.ABANDONED, "abandon", cause=cause):
                self._freed(call, untag=False)
                if call.ringback_uuid:
                    self._kill(call.ringback_uuid)

    # -- timeout, ring-back, fallback -------------------------------------------------------
    def on_deadline(self, uuid: str) -> None:
        ring = None
        with self.locks.hold(uuid):
            call = self.store.by_channel(uuid)
            if call is None or call.state is not State.PARKED:
                return
            if uuid not in self.esl.registry:  # hung up while its hangup could not be recorded
                if self.machine.transition(call, State.ABANDONED, "abandon",
                                           reason="channel gone at the deadline"):
                    self._freed(call, untag=False)
                return
            if call.deadline > now() + timedelta(milliseconds=50):  # moved meanwhile
                self._schedule(call)
                return
            metrics.park_timeouts.inc()
            s = self.settings(call.range_name)
            if not call.parker or call.attempts >= s.max_attempts:
                self._fallback(call, "timeout, nobody to ring back" if not call.parker
                               else "timeout, ring-back attempts used")
                return
            ring = self.machine.transition(
                call, State.RINGING_BACK, "timeout", attempts=call.attempts + 1,
                deadline=now() + timedelta(seconds=s.ringback_timeout + RINGBACK_GRACE),
                ringback_uuid=new_uuid(), parker=call.parker)
        if ring is not None:
            self._ringback(ring)

    def _ringback(self, call: ParkedCall) -> None:
        """Ring the parker with the parked caller and the orbit as caller id; answer -> bridged."""
        s = self.settings(call.range_name)
        rb = call.ringback_uuid
        self._ringbacks.add(rb)
        cause = None
        try:
            try:
                name = safe_name(f"Parked {call.orbit} - {call.caller_name or call.caller_number}")
                o = self.esl.originate(self.user_dial(call.parker),
                                       {"origination_caller_id_name": name,
                                        "origination_caller_id_number": call.orbit,
                                        "originate_timeout": int(s.ringback_timeout),
                                        "fscontrol_ringback_for": call.channel_uuid},
                                       app="park", uuid=rb)
                o.wait_answer(s.ringback_timeout + 5)
            except CommandError as e:
                cause = e.cause
            except (CommandTimeout, ChannelGone) as e:
                cause = "NO_ANSWER"
                log.info("park: ring-back %s: %s", rb, e)
                self._kill(rb)
            except InvalidArgument as e:   # the dial string: ringing again would not help
                log.error("park: ring-back of %s at %s refused: %s", call.caller, call.orbit, e)
                self._fallback_after_error(call.channel_uuid, f"ring-back refused: {e}")
                return
            except ConnectionLost as e:
                self._not_asked(call, str(e))
                return
            except EslError as e:
                cause = f"SWITCH_ERROR ({e})"
            except Exception:
                log.exception("park: ring-back of %s at %s failed", call.caller, call.orbit)
                self._fallback_after_error(call.channel_uuid, "error while ringing the parker back")
                return
            self._settle_ringback(call, rb, cause)
        finally:
            self._ringbacks.discard(rb)

    def _settle_ringback(self, call: ParkedCall, rb: str, cause: str | None) -> None:
        """Record the ring-back's outcome (answered: bridge; else: an attempt used). A database
        that does not answer is retried with backoff, the parker's answered leg kept meanwhile:
        the row never stays in ringing_back with nobody settling it."""
        failures = 0
        while True:
            try:
                if cause is None:
                    self._answered(call, rb)
                else:
                    self._unanswered(call, cause)
                return
            except ParkStoreUnavailable as e:
                delay = self.retry_delay(failures)
                failures += 1
                log.error("park: ring-back outcome of %s at %s not recorded, database unavailable "
                          "(%s); retrying in %.1fs", call.caller, call.orbit, e, delay)
                gevent.sleep(delay)

    def _not_asked(self, call: ParkedCall, why: str) -> None:
        """The switch could not be asked to ring the parker: that attempt is not counted and
        the call waits in park; the reconcile after the reconnect retries it at once (a ring-back
        leg the switch did create meanwhile is hung up there)."""
        with self.locks.hold(call.channel_uuid):
            current = self.store.by_channel(call.channel_uuid)
            if (current is None or current.state is not State.RINGING_BACK
                    or current.ringback_uuid != call.ringback_uuid):
                return
            back = self.machine.transition(current, State.PARKED, "ringback_failed",
                                           cause="switch unreachable (attempt not counted)",
                                           attempts=max(0, current.attempts - 1), deadline=now())
        log.warning("park: ring-back of %s at %s not placed: %s; waiting for the switch",
                    call.caller, call.orbit, why)
        if call.ringback_uuid:
            self._stale_ringbacks.add(call.ringback_uuid)
        if back is not None and self.esl.connected:  # lost and already back: try again now
            self._drop_stale_ringbacks()
            self._schedule(back)

    def take_ringback(self, picker: str, parked_uuid: str, rb: str) -> bool:
        """Someone picked up the ring-back of a parked call (Group Call Pickup): they retrieve
        the call; the parker's phone stops ringing as "completed elsewhere" (PICKED_OFF)."""
        with self.locks.hold(parked_uuid):
            call = self.store.by_channel(parked_uuid)
            if call is None or call.state is not State.RINGING_BACK or call.ringback_uuid != rb:
                return False
            won = self.machine.transition(call, State.RETRIEVED, "retrieve", other_uuid=picker,
                                          via="ringback pickup")
        if won is None:
            return False
        self._freed(call)
        self._stop_media(parked_uuid)
        try:
            self.esl.uuid_bridge(picker, parked_uuid)
        except EslError as e:
            log.warning("park: ring-back of %s picked up but not bridged: %s", call.orbit, e)
            self._kill(rb)
            self._repark(call, f"ring-back pickup not bridged: {e}")
            return False
        try:   # only now: the parker's phone stops as "completed elsewhere"
            self.esl.uuid_kill(rb, "PICKED_OFF")
        except EslError:
            pass
        return True

    def _drop_stale_ringbacks(self) -> None:
        """Ring-backs placed while we lost the switch: nobody waits for them, hang them up."""
        for rb in list(self._stale_ringbacks):
            self._stale_ringbacks.discard(rb)
            if rb in self.esl.registry:
                self._kill(rb)

    def _answered(self, call: ParkedCall, rb: str) -> None:
        with self.locks.hold(call.channel_uuid):
            won = self.machine.transition(call, State.RETRIEVED, "ringback_answered", other_uuid=rb,
                                          parker=call.parker)
        if won is None:  # retrieved or abandoned while the parker's phone rang
            self._hangup(rb)
            return
        self._freed(call)
        self._stop_media(call.channel_uuid)
        try:
            self.esl.uuid_bridge(rb, call.channel_uuid)
        except EslError as e:
            log.warning("park: ring-back of %s answered but not bridged: %s", call.orbit, e)
            self._hangup(rb)
            self._repark(call, f"ring-back not bridged: {e}")

    def _unanswered(self, call: ParkedCall, cause: str) -> None:
        with self.locks.hold(call.channel_uuid):
            current = self.store.by_channel(call.channel_uuid)
            if (current is None or current.state is not State.RINGING_BACK
                    or current.ringback_uuid != call.ringback_uuid):
                return
            s = self.settings(current.range_name)
            if current.attempts < s.max_attempts:
                back = self.machine.transition(current, State.PARKED, "ringback_failed", cause=cause,
                                               deadline=now() + timedelta(seconds=s.timeout))
                if back is not None:
                    self._schedule(back)
            else:
                self._fallback(current, f"ring-back attempts used (last: {cause})")

    def _fallback(self, call: ParkedCall, reason: str) -> None:
        """Attempts used up: transfer to the range's fallback (like Lync's OnTimeoutURI), or play
        the disconnect prompt and hang up when there is none. Called holding the call's lock."""
        target = self.settings(call.range_name).fallback
        to, action = (State.FALLBACK, "fallback") if target else (State.DISCONNECTED, "disconnect")
        done = self.machine.transition(call, to, action, reason=reason, target=target or None)
        if done is None:
            return
        self._freed(call)
        self._stop_media(call.channel_uuid)
        # the disconnect prompt takes seconds: not while holding the call's lock
        self._send_away(call.channel_uuid, target, call.orbit, background=True)

    def _send_away(self, uuid: str, target: str, orbit: str | None = None,
                   background: bool = False) -> None:
        """To the fallback `target`; with none, or when the transfer fails, the disconnect
        prompt and hang-up (in a greenlet of its own when `background`): a call whose orbit is
        freed is never left in park with nobody watching it."""
        if target:
            try:
                self._transfer_to_fallback(uuid, target)
                return
            except EslError as e:
                log.error("park: fallback of %s to %s failed: %s; disconnecting the call",
                          orbit or f"unparked {uuid}", target, e)
                self._log_quietly("fallback_failed", uuid, orbit=orbit, target=target,
                                  reason=str(e))
        if background:
            self.spawn(self._disconnect, uuid)
        else:
            self._disconnect(uuid)

    def _disconnect(self, uuid: str) -> None:
        self._play(uuid, self.park_config.prompt_disconnect)
        self._hangup(uuid)

    def _transfer_to_fallback(self, uuid: str, target: str) -> None:
        """`voicemail:<box>` -> the box's voicemail; a dial string (has "/") -> bridged there;
        anything else is an extension of our context."""
        if target.startswith("voicemail:"):
            box = target.split(":", 1)[1]
            if self.config.voicemail.enabled:   # fscontrol.voicemail takes it, as a no-answer
                self.esl.uuid_transfer_inline(uuid, [
                    ("set", f"{contract.VAR_ACTION}={contract.ACTION_VOICEMAIL_LEAVE}"),
                    ("set", f"{contract.VAR_BOX}={box}"), "answer", "park"])
                return
            domain = self.domain or self.resolve_domain()
            self.esl.uuid_transfer_inline(uuid, ["answer", ("voicemail", f"default {domain} {box}")])
        elif "/" in target:
            dial = operator_dial(expand_dial(target, domain=self.domain or self.resolve_domain()))
            self.esl.uuid_transfer_inline(uuid, [("bridge", dial)])
        else:
            self.esl.uuid_transfer(uuid, target, "XML", self.config.switch.context)

    # -- (re)connect --------------------------------------------------------------------------
    def reconcile(self, failures: int = 0) -> None:
        """The switch says which channels live; the database says what they mean. Parked calls
        whose channel is gone are freed; the others get their timers back (overdue ones fire at
        once) and their presence re-published; a ring-back nobody waits for any more counts as
        an unanswered attempt; a channel still in park that we tagged but that has no row is
        re-adopted. A database that does not answer: retried with backoff."""
        self.resolve_domain()
        try:
            calls = self.store.take_over(self.controller_id)
        except ParkStoreUnavailable as e:
            delay = self.retry_delay(failures)
            log.error("park: reconcile postponed, database unavailable (%s); retrying in %.1fs", e, delay)
            if self._reconcile_retry is not None:
                self._reconcile_retry.kill(block=False)
            self._reconcile_retry = gevent.spawn_later(delay, self.spawn, self.reconcile, failures + 1)
            return
        live = self.esl.registry
        self._drop_stale_ringbacks()
        resumed = freed = 0
        for call in calls:
            try:
                with self.locks.hold(call.channel_uuid):
                    # the snapshot may be stale: a ring-back or timer settled it meanwhile
                    call = self.store.by_channel(call.channel_uuid)
                    if call is None:
                        continue
                    if call.channel_uuid not in live:
                        if self.machine.transition(call, State.ABANDONED, "abandon",
                                                   reason="channel gone while the controller was away"):
                            self._freed(call, untag=False)
                            if call.ringback_uuid and call.ringback_uuid in live:
                                self._kill(call.ringback_uuid)
                        freed += 1
                        continue
                    self.parked.add(call.channel_uuid)
                    if call.state is State.RINGING_BACK and call.ringback_uuid not in self._ringbacks:
                        if call.ringback_uuid in live:
                            self._kill(call.ringback_uuid)
                        s = self.settings(call.range_name)
                        if call.attempts < s.max_attempts:
                            call = self.machine.transition(
                                call, State.PARKED, "ringback_failed", deadline=now(),
                                cause="ring-back interrupted by a controller restart")
                        else:
                            self._fallback(call, "ring-back interrupted by a controller restart")
                            continue
                        if call is None:
                            continue
                    if call.state is State.PARKED:
                        self._schedule(call)
                        if live.get(call.channel_uuid).application == "park":
                            # its park flow died between the orbit and the music: the
                            # caller waits in silence (one with music shows its playback:
                            # switch_core_sqldb.c sets `application` on CHANNEL_EXECUTE)
                            self._mark(call)
                            self._hold(call)
                    self._parked_presence(call)
                    resumed += 1
            except (ParkError, EslError) as e:
                log.warning("park: reconcile of %s: %s", call.orbit, e)
        known = {c.channel_uuid for c in calls}
        adopted = self._adopt_orphans(known)
        self._handle_unhandled(known)
        self.reconciles += 1
        log.info("park: reconciled %d parked call(s): %d resumed, %d freed, %d re-adopted",
                 len(calls), resumed, freed, adopted)

    def _adopt_orphans(self, known: set) -> int:
        """Channels still sitting in park (state CS_EXECUTE in park or its hold music) that we
        tagged with VAR_PARKED but that have no row: parked again, due at once (ring-back to
        their parker, else the fallback)."""
        adopted = 0
        for ch in self.esl.registry:
            if (ch.uuid in known or ch.uuid in self.parked or ch.state != "CS_EXECUTE"
                    or ch.application not in _IN_PARK_APPS):
                continue
            try:
                tag = self.esl.uuid_getvar(ch.uuid, VAR_PARKED)
            except EslError:
                continue
            if not tag:
                continue
            orbit, _, parker = tag.partition("/")
            parker = parker if self.is_user(parker) else None
            name, number = self.party(ch.uuid)
            try:
                call = self.park(ParkRequest(ch.uuid, name, number, parker, "readopt"),
                                 deadline_for=lambda rng: now())
            except (ParkError, EslError) as e:
                log.error("park: %s tagged as parked at %s has no row and could not be re-adopted: %s",
                          ch.uuid, orbit, e)
                continue
            log.warning("park: re-adopted %s (was at %s, its row was lost) at %s",
                        call.caller, orbit, call.orbit)
            adopted += 1
        return adopted

    def transferring_user(self, referred_by: str | None, transferor_leg: str | None) -> str | None:
        """The parker of a call transferred to the park code. What the switch knows comes first:
        the user on the leg the call was last bridged to (live or just ended), the one the
        switch routed to (`dialed_user`) or that authenticated (`user_name`); the phone-supplied
        Referred-By only when no such leg is known. Only a configured user either way: a
        stranger's Referred-By does not make a stranger (or another user) the parker."""
        ch = self.esl.registry.recent(transferor_leg) if transferor_leg else None
        if ch is not None:
            v = ch.variables
            if ch.direction == "outbound":
                user = v.get("dialed_user") or (ch.destination_number or "").split("@")[0]
            elif v.get("user_name"):
                user = v["user_name"]           # authenticated by the switch (mod_sofia)
            elif (ch.name or "").startswith("loopback/") or not v:
                # a caller id proves nothing (a trunk may send "1001"): only the harness's
                # loopback phones, or a leg known only from `show channels` after a reconnect
                # (no variables there), are taken by it -- as CallTracker.user_of_channel does
                user = ch.caller_id_number
            else:
                user = None
        else:
            user = referred_by
        if self.is_user(user):
            return user
        if referred_by or transferor_leg:
            log.warning("park: transferred by %r (leg %s), not a configured user: no parker",
                        (user or referred_by or "")[:40], transferor_leg)
        return None

    def claim(self, uuid: str) -> bool:
        """Take a channel at the park code or an orbit for one flow (the event's, or the
        reconcile's when its event was missed): False when another flow has it already."""
        if uuid in self.handling or uuid in self.parked:
            return False
        self.handling.add(uuid)
        return True

    def _handle_unhandled(self, known: set) -> None:
        """Channels waiting in park at the park code or at an orbit that no flow handles: their
        CHANNEL_PARK came while the switch was unreachable (or the flow handling them died with
        the connection, or with another controller). Handled now, as if the event came late."""
        code = self.park_config.code
        registry = self.esl.registry
        for uuid, app_at_connect in list(registry.at_connect.items()):
            ch = registry.get(uuid)
            # only what already waited in park when we (re)connected: later parks have events
            if (ch is None or uuid in known or app_at_connect not in _IN_PARK_APPS
                    or ch.state != "CS_EXECUTE" or ch.application not in _IN_PARK_APPS):
                continue
            dest = ch.destination_number or ""
            if dest == code:
                try:
                    tag = self.esl.uuid_getvar(uuid, VAR_PARKED)
                    referred = self.esl.uuid_getvar(uuid, "referred_by_user")
                    leg = (self.esl.uuid_getvar(uuid, "last_bridge_to")
                           if self.esl.uuid_getvar(uuid, "sip_refer_to") else None)
                except EslError:
                    continue
                if tag or not self.claim(uuid):   # tagged: ours once, _adopt_orphans' business
                    continue
                log.warning("park: %s waits at %s unhandled; parking it now", uuid, code)
                self.parked.add(uuid)
                self.spawn(self.park_code, uuid, self.transferring_user(referred, leg))
            elif any(r.numbers.contains(dest) for r in self.ranges) and self.claim(uuid):
                log.warning("park: %s waits at orbit %s unhandled; retrieving now", uuid, dest)
                self.spawn(self.retrieve, uuid, dest)

    def is_user(self, extension: str | None) -> bool:
        """A configured [[users]] extension (the only parkers we accept, whatever SIP says)."""
        return bool(extension) and any(u.extension == extension for u in self.config.users)

    def send_to_voicemail(self, uuid: str, box: str) -> None:
        """Send a call to mailbox `box` the way a `voicemail:<box>` fallback does (the auto
        attendant's voicemail keys use this, so both reach voicemail by one path)."""
        self._transfer_to_fallback(uuid, f"voicemail:{box}")
