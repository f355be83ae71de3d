"""Virtual phones and the dialplan executor, asserted on what callers experience."""
import pytest
from waiting import until

from fscontrol.sim import SimSwitch
from fscontrol.sim import dialstring

DIALPLAN = """
<include><context name="default">
  <extension name="set-inline" continue="true"><condition field="destination_number" expression="^.*$">
    <action application="set" data="probe=${destination_number}" inline="true"/></condition></extension>
  <extension name="moh" continue="false"><condition field="destination_number" expression="^(\\*70)$">
    <action application="set" data="dialed=$1"/>
    <action application="answer"/><action application="playback" data="local_stream://moh"/></condition></extension>
  <extension name="call-user"><condition field="destination_number" expression="^(10\\d\\d)$">
    <action application="set" data="call_timeout=1"/>
    <action application="bridge" data="user/$1@fscontrol.test"/></condition></extension>
  <extension name="prompt"><condition field="destination_number" expression="^prompt$">
    <action application="answer"/><action application="playback" data="ivr/welcome.wav"/>
    <action application="park"/></condition>
    </extension>
  <extension name="anti"><condition field="caller_id_number" expression="^9999$">
    <action application="hangup"/><anti-action application="respond" data="486"/></condition></extension>
</context></include>
"""


@pytest.fixture
def sw():
    s = SimSwitch(dialplan=DIALPLAN, heartbeat=0).start()
    yield s
    s.stop()


def test_caller_hears_music_on_star70(sw):
    alice = sw.register("1001")
    ch = alice.dial("*70")
    alice.wait_hearing("music")
    assert ch.vars["dialed"] == "*70"
    assert ch.vars["probe"] == "*70"          # inline set ran during the hunt
    alice.hangup()
    alice.wait_idle()
    assert alice.last_hangup_cause == "NORMAL_CLEARING"


def test_call_between_phones_then_hangup(sw):
    alice, bob = sw.register("1001"), sw.register("1002")
    alice.dial("1002")
    bob.wait_ringing()
    assert alice.hearing() in ("ringback", None, "silence")
    bob.answer()
    alice.wait_connected(to="1002")
    bob.wait_connected(to="1001")
    assert alice.hearing() == "voice"
    bob.hangup()
    alice.wait_idle()
    bob.wait_idle()


def test_busy_and_no_answer_causes(sw):
    alice, bob = sw.register("1001"), sw.register("1002")
    bob.reject_busy()
    alice.dial("1002")
    alice.wait_idle()
    assert alice.last_hangup_cause == "USER_BUSY"
    bob.ring_forever()
    alice.dial("1002")
    bob.wait_ringing()
    alice.wait_idle(timeout=4)
    assert alice.last_hangup_cause == "NO_ANSWER"
    bob.wait_idle()


def test_answer_after_and_prompt_then_silence(sw):
    alice, bob = sw.register("1001"), sw.register("1002")
    bob.answer_after(0.2)
    alice.dial("1002")
    alice.wait_connected(to="1002")
    alice.hangup()
    alice.wait_idle()
    alice.dial("prompt")
    alice.wait_hearing("prompt")
    alice.wait_hearing("silence")
    alice.hangup()


def test_unregistered_and_unknown_users(sw):
    from fscontrol.sim.endpoints import OriginateFailed, originate
    with pytest.raises(OriginateFailed) as e:
        originate(sw, "user/4242@fscontrol.test")
    assert e.value.cause == "DESTINATION_OUT_OF_ORDER"
    p = sw.register("4243")
    p.unregister()
    with pytest.raises(OriginateFailed) as e:
        originate(sw, "user/4243@fscontrol.test")
    assert e.value.cause == "USER_NOT_REGISTERED"


def test_dial_string_parsing():
    groups = dialstring.parse("{a=1,b='x y'}[c=2]user/1001@d,user/1002@d|error/user_busy")
    assert [[l.endpoint for l in g] for g in groups] == [["user/1001@d", "user/1002@d"], ["error/user_busy"]]
    assert groups[0][0].vars == {"a": "1", "b": "x y", "c": "2"}
    assert groups[0][1].vars == {"a": "1", "b": "x y"}
    args = dialstring.split_originate_args("{x=Call Via Work}loopback/a/t &park()")
    assert args[0] == "{x=Call"      # the s12b failure: an unquoted space ends the dial string


# users bridged with the park DTMF bound (as the rendered dialplan does); the meta app sets a variable
META_DIALPLAN = """<include><context name="default">
  <extension name="b"><condition field="destination_number" expression="^(10\\d\\d)$">
    <action application="bind_meta_app" data="1 b s execute_extension::park_dtmf XML features"/>
    <action application="bridge" data="user/$1@fscontrol.test"/></condition></extension>
  </context><context name="features">
  <extension name="park_dtmf"><condition field="destination_number" expression="^park_dtmf$">
    <action application="set" data="meta_ran=yes"/></condition></extension>
  </context></include>"""


def test_meta_app_on_bridged_leg_runs_extension(sw):
    sw.load_dialplan(META_DIALPLAN)
    alice, bob = sw.register("1001"), sw.register("1002")
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected(to="1002")
    bob.send_dtmf("*1")
    bob.wait_for(lambda p: p.channel is not None and p.channel.vars.get("meta_ran") == "yes")
    alice.hangup()
    bob.wait_idle()


@pytest.mark.parametrize("digits, meta_runs", [("*1", False), ("~*1", True)])
def test_uuid_recv_dtmf_reaches_bind_meta_app_only_with_a_tilde(sw, digits, meta_runs):
    """uuid_recv_dtmf queues its digits with DTMF_FLAG_SKIP_PROCESS unless they start with "~"
    (switch_channel.c), and such digits skip bind_meta_app: a real switch ran no meta app for
    `*1` and did for `~*1` (../shared/live-reports/README.md, 2026-12-01)."""
    sw.load_dialplan(META_DIALPLAN)
    events = []
    sw.add_listener(lambda ev: events.append(ev))
    alice, bob = sw.register("1001"), sw.register("1002")
    bob.auto_answer()
    alice.dial("1002")
    alice.wait_connected(to="1002")
    leg = bob.channel
    reply = sw.api.execute("uuid_recv_dtmf", "%s %s" % (leg.uuid, digits))
    assert reply.startswith("+OK")
    # the digits are dequeued either way: one DTMF event per digit on that leg
    until(lambda: [e for e in events if e.name == "DTMF" and e.channel_uuid == leg.uuid],
          message="the DTMF events")
    if meta_runs:
        bob.wait_for(lambda p: p.channel is not None and p.channel.vars.get("meta_ran") == "yes")
    else:
        until(lambda: len([e for e in events if e.name == "DTMF" and e.channel_uuid == leg.uuid]) == 2,
              message="both digits dequeued")
        # a meta app runs while its digit is handled: once the channel has handled what was
        # queued after the digits, it would have run
        handled = []
        leg.post("call", lambda: handled.append(True))
        until(lambda: handled, message="the channel to handle its queue")
        assert "meta_ran" not in leg.vars
        assert alice.connected_to() == "1002"
    alice.hangup()
    bob.wait_idle()


@pytest.mark.parametrize("content_type, reply", [("", "Error! Message Not Sent"),
                                                 ("|text/html", "Error! Message Not Sent"),
                                                 ("|text/plain", "Sent")])
def test_chat_reaches_a_phone_only_as_text_plain(sw, content_type, reply):
    """`chat` without a content type goes out as text/html and SIP phones answer 415 (live run
    of 2026-12-01, baresip on mod_sofia); with `|text/plain` the phone takes it."""
    bob = sw.register("1002")
    events = []
    sw.add_listener(lambda ev: events.append(ev) if ev.name == "MESSAGE" else None)
    got = sw.api.execute("chat", "sip|7000@fscontrol.test|1002@fscontrol.test|Alice parked at 7000"
                         + content_type)
    assert got == reply
    assert bob.messages == ([("7000@fscontrol.test", "Alice parked at 7000")] if reply == "Sent" else [])
    # do_chat_send (switch_loadable_module.c) fires the MESSAGE of a blocking send with
    # Delivery-Failure "true" or "false" (trace s08: "true" for a user with no registration)
    until(lambda: events, message="the MESSAGE event")
    assert events[0].get("Delivery-Failure") == ("false" if reply == "Sent" else "true")


def test_a_loopback_a_leg_shows_the_callers_id_until_an_originate_runs_its_app(switch):
    """Trace s05 and the live log of 2026-12-01: the -a leg of loopback/call-ring/trace
    originated with Alice's caller id says Caller "Alice" <1001>, callee "Outbound Call"
    <trace>; when the originate API runs its app, switch_channel_sort_cid (switch_channel.c)
    flips them ("Flipping CID from "Alice" <1001> to "Outbound Call" <default>"), CALL_UPDATE
    first. The -a leg the -b leg's bridge rings (loopback/ring/trace) runs no app: no flip."""
    events = []
    switch.add_listener(lambda ev: events.append(ev) if ev.get("Channel-Name", "").startswith(
        ("loopback/call-ring-a", "loopback/ring-a")) else None)
    reply = switch.api.execute("originate", "{origination_caller_id_number=1001,"
                               "origination_caller_id_name=Alice}loopback/call-ring/trace &park()")
    assert reply.startswith("+OK"), reply
    until(lambda: any(e.name == "CHANNEL_PARK" for e in events), message="the -a leg parked")

    def story(name):
        return [(e.name, e.get("Caller-Caller-ID-Name"), e.get("Caller-Caller-ID-Number"),
                 e.get("Caller-Callee-ID-Name"), e.get("Caller-Callee-ID-Number"))
                for e in events if e.get("Channel-Name") == name]

    caller = story("loopback/call-ring-a")
    flip = [n for n, *_ in caller].index("CALL_UPDATE")
    assert {c[1:] for c in caller[:flip]} == {("Alice", "1001", "Outbound Call", "trace")}
    assert {c[1:] for c in caller[flip:]} == {("Outbound Call", "trace", "Alice", "1001")}
    ringing = story("loopback/ring-a")
    assert ringing and {c[1:] for c in ringing} == {("Alice", "1001", "Outbound Call", "trace")}
    switch.api.execute("hupall", "")
