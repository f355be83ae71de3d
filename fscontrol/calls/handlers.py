"""Events in, tracker calls out: the channel events that start, ring, answer, bridge, hold and
end a call, and the rebuild after each (re)connect. Each handler runs on the channel's ordered
dispatch worker and returns at once (the tracker neither blocks nor touches the database)."""

from __future__ import annotations

from .services import CallTracker


class CallHandlers:
    def __init__(self, tracker: CallTracker):
        self.tracker = tracker

    def attach(self, esl) -> None:
        t = self.tracker
        for name, handler in (
                ("CHANNEL_UUID", t.renamed),
                ("CHANNEL_CREATE", t.created),
                ("CHANNEL_PROGRESS", t.ringing),
                ("CHANNEL_PROGRESS_MEDIA", t.ringing),
                ("CHANNEL_ANSWER", t.answered),
                ("CHANNEL_BRIDGE", t.bridged),
                ("CHANNEL_HOLD", self.on_hold),
                ("CHANNEL_UNHOLD", self.on_unhold),
                ("CHANNEL_CALLSTATE", t.callstate),
                ("CHANNEL_HANGUP", t.hungup),
                ("CHANNEL_DESTROY", t.hungup)):
            esl.on(name, handler)
        esl.on_connect(self.on_connect)

    def on_hold(self, event) -> None:
        self.tracker.hold(event, True)

    def on_unhold(self, event) -> None:
        self.tracker.hold(event, False)

    def on_connect(self, esl) -> None:
        # inline, before any event of the new connection is handled: the registry was just
        # rebuilt from `show channels` and the tracker follows it from there
        self.tracker.rebuild()
