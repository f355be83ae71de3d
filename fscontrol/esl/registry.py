"""Channel registry: the live channels of the switch, kept from events and rebuilt on reconnect.

Holds state, call state, answer state, direction, caller id, destination, peers and the
variables features use; ringing/early calls are indexed per destination user so group
pickup's "which calls ring for 1002" is a dict lookup. Rebuilt from ``show channels as json``.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .events import Event

__all__ = ["Channel", "ChannelRegistry", "RINGING_CALL_STATES", "DEFAULT_VARIABLES"]

RINGING_CALL_STATES = frozenset({"RINGING", "EARLY"})
_NOT_RINGING_ANSWER = frozenset({"answered", "hangup"})
_ANSWER_FROM_CALLSTATE = {"ACTIVE": "answered", "HELD": "answered", "RINGING": "ringing",
                          "EARLY": "early", "HANGUP": "hangup"}
DEFAULT_VARIABLES = frozenset({
    "dialed_user", "dialed_domain", "dialed_extension", "presence_id", "call_uuid",
    "origination_uuid", "other_loopback_leg_uuid", "sip_from_user", "sip_to_user",
    "effective_caller_id_name", "effective_caller_id_number", "current_application",
    "last_bridge_to", "user_name",
})
DEFAULT_VARIABLE_PREFIXES = ("fscontrol_",)


@dataclass(slots=True, eq=False)
class Channel:
    """One live channel as last seen. Mutated only by the registry (treat as read-only)."""

    uuid: str
    name: Optional[str] = None
    direction: Optional[str] = None
    state: Optional[str] = None
    call_state: Optional[str] = None
    answer_state: Optional[str] = None
    caller_id_name: Optional[str] = None
    caller_id_number: Optional[str] = None
    destination_number: Optional[str] = None
    context: Optional[str] = None  # Caller-Context: the dialplan context it runs (or ran) in
    other_leg_uuid: Optional[str] = None  # Other-Leg-Unique-ID (originator / peer leg)
    bridged_to: Optional[str] = None  # set by CHANNEL_BRIDGE, cleared by CHANNEL_UNBRIDGE
    application: Optional[str] = None
    hangup_cause: Optional[str] = None
    created: float = 0.0  # epoch seconds the switch created it (Caller-Channel-Created-Time)
    variables: dict = field(default_factory=dict)
    _ring_keys: tuple = field(default=(), repr=False)

    @property
    def ringing(self) -> bool:
        return self.call_state in RINGING_CALL_STATES and self.answer_state not in _NOT_RINGING_ANSWER

    @property
    def answered(self) -> bool:
        return self.answer_state == "answered"

    @property
    def peer(self) -> Optional[str]:
        """The bridged peer if bridged, else the other leg."""
        return self.bridged_to or self.other_leg_uuid


def _user_keys(ch: Channel) -> tuple:
    keys = []
    dest = ch.destination_number
    if dest:
        keys.append(dest)
        if "@" in dest:
            keys.append(dest.split("@", 1)[0])
    dialed = ch.variables.get("dialed_user")
    if dialed and dialed not in keys:
        keys.append(dialed)
    return tuple(keys)


class ChannelRegistry:
    """Live channels by uuid plus an index of ringing channels by destination user."""

    def __init__(self, variables: Optional[Iterable[str]] = None,
                 variable_prefixes: Iterable[str] = DEFAULT_VARIABLE_PREFIXES,
                 tombstones: int = 4096):
        self._channels: dict = {}
        self._ringing: dict = {}  # user -> {uuid: Channel}
        self._dead: OrderedDict = OrderedDict()  # recently destroyed uuids (late events)
        self._max_dead = tombstones
        self.variables = frozenset(DEFAULT_VARIABLES if variables is None else variables)
        #: uuid -> application of the channels live at the last reconcile (the (re)connect):
        #: what they did before this connection's events, which a feature may have missed
        self.at_connect: dict = {}
        #: uuids of the channels the last reconcile created (known only from `show channels`)
        self.unseen: list = []
        self.variable_prefixes = tuple(variable_prefixes)

    # queries --------------------------------------------------------------------------------
    def get(self, uuid: str) -> Optional[Channel]:
        return self._channels.get(uuid)

    def recent(self, uuid: str) -> Optional[Channel]:
        """A live channel, or one destroyed lately (as last seen): who was on a leg that hung up
        a moment ago, e.g. the transferor of a blind transfer (its REFER ends its call)."""
        return self._channels.get(uuid) or self._dead.get(uuid)

    def __contains__(self, uuid) -> bool:
        return uuid in self._channels

    def __len__(self) -> int:
        return len(self._channels)

    def __iter__(self):
        return iter(list(self._channels.values()))

    def uuids(self) -> list:
        return list(self._channels)

    def ringing_for(self, user: str, direction: Optional[str] = None) -> list:
        """Channels ringing (call state RINGING/EARLY, unanswered) for ``user``: its destination
        number (``1002`` or ``1002@domain``) or ``variable_dialed_user``. ``direction='inbound'``
        gives the callers' legs (what ``intercept`` takes), ``'outbound'`` the legs to phones."""
        found = self._ringing.get(user)
        if not found:
            return []
        if direction is None:
            return list(found.values())
        return [ch for ch in found.values() if ch.direction == direction]

    def ringing_users(self) -> list:
        return list(self._ringing)

    # updates --------------------------------------------------------------------------------
    def apply(self, event: Event) -> Optional[Channel]:
        """Update from one event; returns the affected channel (None if not a channel event)."""
        uuid = event.uuid
        if not uuid:
            return None
        name = event.name
        channels = self._channels
        if name == "CHANNEL_DESTROY":
            ch = channels.pop(uuid, None)
            if ch is not None:
                self._unindex(ch)
                if event.hangup_cause:
                    ch.hangup_cause = event.hangup_cause
                ch.state = event.state or "CS_DESTROY"
            self._bury(uuid, ch)
            return ch
        if name == "CHANNEL_UUID":
            old = event.headers.get("Old-Unique-ID")
            ch = channels.pop(old, None) if old else None
            if ch is not None:
                self._unindex(ch)
                ch.uuid = uuid
                channels[uuid] = ch
        if uuid in self._dead:
            return None  # e.g. the CHANNEL_STATE CS_DESTROY that follows CHANNEL_DESTROY
        ch = channels.get(uuid)
        if ch is None:
            if event.state is None:
                return None  # not a channel-data event (e.g. sendevent PRESENCE_IN)
            ch = channels[uuid] = Channel(uuid)
        self._update(ch, event)
        return ch

    def _update(self, ch: Channel, ev: Event):
        if not ch.created:
            created = ev.headers.get("Caller-Channel-Created-Time")
            ch.created = int(created) / 1e6 if created and created.isdigit() and created != "0" \
                else time.time()
        if ev.channel_name is not None:
            ch.name = ev.channel_name
        if ev.direction is not None:
            ch.direction = ev.direction
        if ev.state is not None:
            ch.state = ev.state
        if ev.call_state is not None:
            ch.call_state = ev.call_state
        if ev.answer_state is not None:
            ch.answer_state = ev.answer_state
        if ev.caller_id_name is not None:
            ch.caller_id_name = ev.caller_id_name
        if ev.caller_id_number is not None:
            ch.caller_id_number = ev.caller_id_number
        if ev.destination_number is not None:
            ch.destination_number = ev.destination_number
        context = ev.headers.get("Caller-Context")
        if context is not None:
            ch.context = context
        if ev.hangup_cause is not None:
            ch.hangup_cause = ev.hangup_cause
        name = ev.name
        if name == "CHANNEL_BRIDGE":
            peer = ev.other_leg_uuid
            ch.bridged_to = peer
            other = self._channels.get(peer) if peer else None
            if other is not None:
                other.bridged_to = ch.uuid
        elif name == "CHANNEL_UNBRIDGE":
            peer = ch.bridged_to or ev.other_leg_uuid
            ch.bridged_to = None
            other = self._channels.get(peer) if peer else None
            if other is not None and other.bridged_to == ch.uuid:
                other.bridged_to = None
        elif ev.other_leg_uuid is not None:
            ch.other_leg_uuid = ev.other_leg_uuid
        if name == "CHANNEL_EXECUTE" and ev.application:
            ch.application = ev.application
        evars = ev.variables
        if evars:
            wanted = self.variables
            prefixes = self.variable_prefixes
            chvars = ch.variables
            for key, value in evars.items():
                if key in wanted or (prefixes and key.startswith(prefixes)):
                    chvars[key] = value
        self._reindex(ch)

    def _reindex(self, ch: Channel):
        keys = _user_keys(ch) if ch.ringing else ()
        if keys == ch._ring_keys:
            return
        self._unindex(ch)
        ring = self._ringing
        for key in keys:
            bucket = ring.get(key)
            if bucket is None:
                bucket = ring[key] = {}
            bucket[ch.uuid] = ch
        ch._ring_keys = keys

    def _unindex(self, ch: Channel):
        ring = self._ringing
        for key in ch._ring_keys:
            bucket = ring.get(key)
            if bucket is not None:
                bucket.pop(ch.uuid, None)
                if not bucket:
                    del ring[key]
        ch._ring_keys = ()

    def _bury(self, uuid: str, ch: Optional[Channel] = None):
        dead = self._dead
        dead[uuid] = ch
        if len(dead) > self._max_dead:
            dead.popitem(last=False)

    def forget(self, uuid: str) -> Optional[Channel]:
        ch = self._channels.pop(uuid, None)
        if ch is not None:
            self._unindex(ch)
        return ch

    def clear(self):
        self._channels.clear()
        self._ringing.clear()

    def reconcile(self, snapshot) -> list:
        """Make the registry match ``show channels as json`` (text or parsed dict).

        Channels missing from the snapshot are removed (returned, as uuids); present ones are
        created or updated (known variables are kept). The ones it created are listed in
        ``unseen``: ``show channels`` carries none of their variables (the client fills them in
        from ``uuid_dump``). ``show channels`` carries no answer
        state or bridge peer: answer state is derived from ``callstate``, the other leg from
        ``call_uuid`` when it names another channel.
        """
        if isinstance(snapshot, (str, bytes)):
            snapshot = json.loads(snapshot)
        rows = snapshot.get("rows") or []
        seen = set()
        self.at_connect = {}
        self.unseen = []
        for row in rows:
            uuid = row.get("uuid")
            if not uuid:
                continue
            seen.add(uuid)
            self._dead.pop(uuid, None)
            ch = self._channels.get(uuid)
            if ch is None:
                ch = self._channels[uuid] = Channel(uuid)
                self.unseen.append(uuid)
            ch.name = row.get("name") or ch.name
            ch.direction = row.get("direction") or ch.direction
            ch.state = row.get("state") or ch.state
            callstate = row.get("callstate") or None
            if callstate:
                ch.call_state = callstate
                ch.answer_state = _ANSWER_FROM_CALLSTATE.get(callstate, ch.answer_state)
            ch.caller_id_name = row.get("cid_name", ch.caller_id_name)
            ch.caller_id_number = row.get("cid_num", ch.caller_id_number)
            ch.destination_number = row.get("dest") or ch.destination_number
            ch.context = row.get("context") or ch.context
            ch.application = row.get("application") or None
            epoch = str(row.get("created_epoch") or "")
            if epoch.isdigit() and not ch.created:
                ch.created = float(epoch)
            call_uuid = row.get("call_uuid")
            if call_uuid and call_uuid != uuid:
                ch.other_leg_uuid = call_uuid
            if row.get("presence_id"):
                ch.variables["presence_id"] = row["presence_id"]
            self.at_connect[uuid] = ch.application
            self._reindex(ch)
        removed = [u for u in self._channels if u not in seen]
        for uuid in removed:
            self.forget(uuid)
        return removed
