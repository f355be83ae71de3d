"""ESL client core: fscontrol's resilient connection to FreeSWITCH's event socket (inbound).

Typed events, per-channel ordered dispatch, a live channel registry, and one safe place
(:mod:`.commands`) that builds every command line and dial string.
"""

from .client import REQUIRED_EVENTS, EslClient, subscription_command
from .commands import Execution, Job, JobResult, Originate, dial_string, inline_dialplan, quote_var_value
from .connection import EslConnection
from .dispatch import Dispatcher, Waiter
from .errors import (AuthenticationError, ChannelGone, CommandError, CommandTimeout, ConnectionLost,
                     EslError, InvalidArgument)
from .events import EslMessage, EslParser, Event, encode_plain_event, parse_plain_event
from .registry import Channel, ChannelRegistry

__all__ = [
    "EslClient", "EslConnection", "Event", "EslMessage", "EslParser", "parse_plain_event",
    "encode_plain_event", "Channel", "ChannelRegistry", "Dispatcher", "Waiter", "Job", "JobResult",
    "Originate", "Execution", "dial_string", "inline_dialplan", "quote_var_value",
    "subscription_command", "REQUIRED_EVENTS",
    "EslError", "ConnectionLost", "AuthenticationError", "CommandTimeout", "CommandError",
    "InvalidArgument", "ChannelGone",
]
