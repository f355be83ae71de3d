"""Switch events: the core headers every FreeSWITCH event carries, and the header blocks that
describe a channel (state, caller profile, other leg, variables) in the order the real switch writes them."""
from __future__ import annotations

import itertools
import time
import uuid as uuidlib

# Events whose channel part carries variable_* headers (switch_channel_event_set_extended_data).
VERBOSE_EVENTS = {
    "CHANNEL_CREATE", "CHANNEL_ORIGINATE", "CHANNEL_UUID", "CHANNEL_ANSWER", "CHANNEL_PARK",
    "CHANNEL_UNPARK", "CHANNEL_BRIDGE", "CHANNEL_UNBRIDGE", "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA", "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE", "CHANNEL_DATA",
    "CHANNEL_EXECUTE", "CHANNEL_EXECUTE_COMPLETE", "CHANNEL_DESTROY", "API", "CALL_UPDATE",
    "PLAYBACK_START", "PLAYBACK_STOP", "RECORD_START", "RECORD_STOP", "CHANNEL_HOLD",
    "CHANNEL_UNHOLD", "CUSTOM", "CHANNEL_OUTGOING",
}

STATE_NUMBERS = {
    "CS_NEW": 0, "CS_INIT": 1, "CS_ROUTING": 2, "CS_SOFT_EXECUTE": 3, "CS_EXECUTE": 4,
    "CS_EXCHANGE_MEDIA": 5, "CS_PARK": 6, "CS_CONSUME_MEDIA": 7, "CS_HIBERNATE": 8,
    "CS_RESET": 9, "CS_HANGUP": 10, "CS_REPORTING": 11, "CS_DESTROY": 12, "CS_NONE": 13,
}

# Where the real switch fires each event from; clients sometimes log these, nobody should match on them.
_ORIGINS = {
    "CHANNEL_EXECUTE": ("switch_core_session.c", "switch_core_session_exec", 2944),
    "CHANNEL_EXECUTE_COMPLETE": ("switch_core_session.c", "switch_core_session_exec", 2976),
    "CHANNEL_STATE": ("switch_channel.c", "switch_channel_perform_set_running_state", 2183),
    "CHANNEL_CALLSTATE": ("switch_channel.c", "switch_channel_perform_set_callstate", 354),
    "CHANNEL_HANGUP": ("switch_channel.c", "switch_channel_perform_hangup", 3445),
    "CHANNEL_HANGUP_COMPLETE": ("switch_core_state_machine.c", "switch_core_session_reporting_state", 943),
    "CHANNEL_DESTROY": ("switch_core_session.c", "switch_core_session_perform_destroy", 1589),
    "CHANNEL_ANSWER": ("switch_channel.c", "switch_channel_perform_mark_answered", 3919),
    "CHANNEL_BRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689),
    "CHANNEL_UNBRIDGE": ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1740),
    "BACKGROUND_JOB": ("mod_event_socket.c", "api_exec", 1572),
    "API": ("switch_loadable_module.c", "switch_api_execute", 2954),
    "HEARTBEAT": ("switch_core.c", "send_heartbeat", 96),
    "SHUTDOWN": ("switch_core.c", "switch_core_destroy", 3023),
    "DTMF": ("switch_channel.c", "switch_channel_dequeue_dtmf", 677),
    "PRIVATE_COMMAND": ("switch_ivr.c", "switch_ivr_parse_next_event", 804),
    "COMMAND": ("switch_ivr_async.c", "switch_ivr_broadcast", 5731),
}


class Event:
    __slots__ = ("name", "subclass", "headers", "body", "channel_uuid")

    def __init__(self, name, headers, body=None, subclass=None, channel_uuid=None):
        self.name = name
        self.subclass = subclass
        self.headers = headers
        self.body = body
        self.channel_uuid = channel_uuid

    def get(self, key, default=None):
        for k, v in self.headers:
            if k == key:
                return v
        return default

    def __repr__(self):
        return "<Event %s %s>" % (self.name, self.get("Unique-ID", ""))


class Identity:
    """Who the switch says it is in every event header."""

    def __init__(self, hostname="sim", ipv4="127.0.0.1", ipv6="::1"):
        self.core_uuid = str(uuidlib.uuid4())
        self.hostname = hostname
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self._seq = itertools.count(1)
        self.started = time.time()

    def core_headers(self, name, subclass=None, origin=None):
        now = time.time()
        lt = time.localtime(now)
        file_, func, line = origin or _ORIGINS.get(name, ("switch_event.c", "switch_event_fire_detailed", 2020))
        h = [("Event-Name", name)]
        if subclass:
            h.append(("Event-Subclass", subclass))
        h += [
            ("Core-UUID", self.core_uuid),
            ("FreeSWITCH-Hostname", self.hostname),
            ("FreeSWITCH-Switchname", self.hostname),
            ("FreeSWITCH-IPv4", self.ipv4),
            ("FreeSWITCH-IPv6", self.ipv6),
            ("Event-Date-Local", time.strftime("%Y-%m-%d %H:%M:%S", lt)),
            ("Event-Date-GMT", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now))),
            ("Event-Date-Timestamp", str(int(now * 1e6))),
            ("Event-Calling-File", file_),
            ("Event-Calling-Function", func),
            ("Event-Calling-Line-Number", str(line)),
            ("Event-Sequence", str(next(self._seq))),
        ]
        return h
