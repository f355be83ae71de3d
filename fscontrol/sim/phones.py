"""Virtual phones: registered users that dial, ring, answer, press keys and hang up, and report what
their user would experience (ringing, music, a prompt, silence, or talking to someone).

Every method is safe to call from a test's greenlet while the switch runs in the same process;
methods that wait take a timeout and wait for a condition."""
from __future__ import annotations

from .channels import Channel
from .waits import PhoneWaits


class Phone(PhoneWaits):
    def __init__(self, switch, user, name=None):
        self.sw = switch
        self.user = user
        self.name = name or user
        self.registered = False
        self.policy = "ring"            # ring | answer | busy | answer_after
        self.answer_delay = 0.0
        self.channel = None             # the phone's current call leg
        self.calls = []                 # every leg this phone had, oldest first
        self.last_hangup_cause = None
        self.messages = []              # (from, body) received by `chat`

    def __repr__(self):
        return "<Phone %s %s>" % (self.user, self.state)

    # -- registration / behaviour -------------------------------------------------------------
    def unregister(self):
        self.registered = False
        self.sw.notify()

    def auto_answer(self):
        """Answer every future incoming call at once."""
        self.policy = "answer"

    def ring_forever(self):
        self.policy = "ring"

    def answer_after(self, seconds):
        self.policy, self.answer_delay = "answer_after", float(seconds)

    def reject_busy(self):
        """Reject the call ringing now (USER_BUSY) and every future one."""
        self.policy = "busy"
        ch = self.channel
        if ch is not None and ch.direction == "outbound" and not ch.is_answered and ch.alive:
            ch.hangup("USER_BUSY")

    def busy_now(self):
        return self.policy == "busy"

    # -- calls -------------------------------------------------------------------------------
    def incoming(self, ch):
        """The switch is ringing this phone with outbound leg ch."""
        ch.phone = self
        self.channel = ch
        self.calls.append(ch)
        ch.mark_ring_ready()
        if self.policy == "answer":
            ch.mark_answered()
        elif self.policy == "answer_after":
            self.sw.spawn_later(self.answer_delay, self._answer_if_ringing, ch)
        self.sw.notify()

    def _answer_if_ringing(self, ch):
        if ch.alive and not ch.is_answered:
            ch.mark_answered()

    def dial(self, number, variables=None):
        """Place a call: an inbound leg from this user entering the dialplan at `number`."""
        from .endpoints import _inbound_announce
        ch = Channel(self.sw, "sofia/internal/%s@%s" % (self.user, self.sw.domain), "inbound",
                     kind="phone", cid_name=self.name, cid_num=self.user, dest=number,
                     context=self.sw.context, variables=dict(variables or {}), source="mod_sofia")
        ch.vars.setdefault("sip_from_user", self.user)
        ch.vars.setdefault("sip_to_user", number)
        ch.vars.setdefault("user_name", self.user)
        ch.vars.setdefault("domain_name", self.sw.domain)
        ch.phone = self
        self.channel = ch
        self.calls.append(ch)
        self.sw.track(ch)
        _inbound_announce(ch)
        ch.start(("dialplan", number, self.sw.context))
        return ch

    def answer(self, timeout=5.0):
        """Answer the call ringing on this phone (waits up to timeout for one to ring)."""
        self.wait_for(lambda p: p.ringing_call() is not None, timeout, "a call ringing on %s" % self.user)
        ch = self.ringing_call()
        ch.mark_answered()
        self.sw.notify()
        return ch

    def display(self):
        """The caller's name as this SIP phone shows it for its current call: sip_from_display
        when set, else the caller-id name from its last ":" on (what the live run of 2026-12-01
        saw on baresip registered to mod_sofia: "Parked 7000: Alice" showed " Alice";
        sofia_glue_do_invite quotes the name whole, so the cut happens at the phone)."""
        ch = self.channel
        if ch is None:
            return None
        shown = ch.vars.get("sip_from_display")
        return shown if shown else ch.cid_name.rsplit(":", 1)[-1]

    def ringing_call(self):
        ch = self.channel
        if ch is not None and ch.direction == "outbound" and ch.alive and not ch.is_answered:
            return ch
        return None

    def send_dtmf(self, digits):
        ch = self.channel
        if ch is None or not ch.alive:
            raise RuntimeError("phone %s has no call to send DTMF on" % self.user)
        ch.post("dtmf", digits)

    def blind_transfer(self, number, referred_by=False):
        """Blind-transfer the party of this phone's call to `number` as a SIP phone does (REFER,
        then BYE): `refer` below, from this phone's leg, with a Referred-By naming this phone
        only when `referred_by` (many phones send none)."""
        ch = self.channel
        if ch is None or ch.bridged is None:
            raise RuntimeError("phone %s has no bridged call to transfer" % self.user)
        refer(self.sw, ch, number, self.user,
              "<sip:%s@%s>" % (self.user, self.sw.domain) if referred_by else None)

    def hold(self):
        """Put the current call on hold from the phone (a re-INVITE with a=sendonly): mod_sofia
        calls switch_channel_mark_hold (switch_channel.c), which sets CF_LEG_HOLDING -- on an
        answered channel that sets the call state HELD (switch_channel_set_flag_value) -- and
        then fires CHANNEL_HOLD."""
        self._mark_hold(True)

    def unhold(self):
        """Take the call off hold from the phone: switch_channel_mark_hold(FALSE) clears
        CF_LEG_HOLDING (call state UNHOLD, switch_channel_clear_flag), then CHANNEL_UNHOLD."""
        self._mark_hold(False)

    def _mark_hold(self, on):
        ch = self.channel
        if ch is None or not ch.alive or not ch.is_answered:
            raise RuntimeError("phone %s has no answered call to hold" % self.user)
        if ch.held == on:
            return      # switch_channel_mark_hold: no event when the flag does not change
        ch.held = on
        ch.set_callstate("HELD" if on else "UNHOLD")
        ch.fire("CHANNEL_HOLD" if on else "CHANNEL_UNHOLD")
        self.sw.notify()

    def hangup(self, cause=None):
        ch = self.channel
        if ch is None or not ch.alive:
            return
        if cause is None:
            if ch.is_answered:
                cause = "NORMAL_CLEARING"
            elif ch.direction == "inbound":
                cause = "ORIGINATOR_CANCEL"
            else:
                cause = "CALL_REJECTED"
        ch.hangup(cause)

    def on_channel_gone(self, ch):
        self.last_hangup_cause = ch.hangup_cause
        if self.channel is ch:
            self.channel = None
        self.sw.notify()

    # -- what the user experiences --------------------------------------------------------------
    @property
    def state(self):
        ch = self.channel
        if ch is None:
            return "idle"
        if not ch.alive:
            return "hanging_up"
        if ch.direction == "outbound" and not ch.is_answered:
            return "ringing"
        if not ch.is_answered:
            return "dialing"
        return "talking"

    def connected_to(self):
        """User (for a phone) or channel name of whoever is at the far end of the bridge, else None."""
        ch = self.channel
        if ch is None or not ch.alive:
            return None
        far = ch.far_end()
        if far is None:
            return None
        return far.phone.user if far.phone is not None else far.name

    def hearing(self):
        """'ringback' | 'music' | 'prompt' | 'tone' | 'silence' | 'voice' (a person) |
        'conference' | 'recording' (voicemail beep done, leaving a message) | None when idle."""
        ch = self.channel
        if ch is None or not ch.alive:
            return None
        if ch.playing is not None:
            return ch.playing[0]
        far = ch.far_end()
        if far is not None:
            if far.playing is not None:
                return far.playing[0]
            if far.phone is not None:
                return "voice"
            return "silence"
        if ch.direction == "inbound" and not ch.is_answered:
            return "ringback"
        if ch.direction == "outbound" and not ch.is_answered:
            return None
        return "silence"


def refer(sw, ch, number, from_user, referred_by=None):
    """A blind-transfer REFER received on SIP leg `ch` (from its remote party, whose REFER's
    From user is `from_user`), then that party's BYE, with what mod_sofia's
    sofia_handle_sip_i_refer (sofia.c) does: on `ch` transfer_to / transfer_destination and
    transfer_fallback_extension (the From user, whatever the sender put there); on the bridged
    leg sip_refer_to and, only when the REFER had one, sip_h_Referred-By (`referred_by`, the
    header as sent); then switch_ivr_session_transfer of that leg to `number` in its own
    context, and `ch` hangs up."""
    other = ch.bridged
    if other is None:
        raise RuntimeError("%s has no bridged call to transfer" % ch.name)
    ch.vars["transfer_to"] = "blind:%s" % other.uuid
    ch.vars["transfer_destination"] = "blind:%s" % number
    ch.vars["transfer_fallback_extension"] = from_user
    other.vars["sip_refer_to"] = "<sip:%s@%s>" % (number, sw.domain)
    if referred_by:
        other.vars["sip_h_Referred-By"] = referred_by
    sw.api.execute("uuid_transfer", "%s %s XML %s" % (other.uuid, number, other.context))
    ch.hangup("NORMAL_CLEARING")
