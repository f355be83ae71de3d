"""`make demo`: embedded PostgreSQL, the simulated FreeSWITCH running the rendered dialplan, the
controller connected to it, and a short scripted scenario printed as it happens."""

from gevent import monkey

monkey.patch_all()

import dataclasses  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from datetime import timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHOWN = {"CHANNEL_CREATE", "CHANNEL_PROGRESS", "CHANNEL_ANSWER", "CHANNEL_BRIDGE", "CHANNEL_PARK",
         "CHANNEL_HANGUP_COMPLETE"}


def wait(condition, timeout: float = 5.0):
    """Waits for what the controller sees (events travel over the socket), never a fixed sleep."""
    import gevent
    with gevent.Timeout(timeout, False):
        while not condition():
            gevent.sleep(0.01)
    return condition()


def say(text: str) -> None:
    print(text, flush=True)


SEEN: set[tuple[str, str]] = set()  # (event name, channel uuid) of every event shown


def show_event(event) -> None:
    if event.name not in SHOWN:
        return
    SEEN.add((event.name, event.uuid))
    who = f"{event.channel_name or event.uuid}"
    extra = ""
    if event.name == "CHANNEL_BRIDGE":
        extra = f" with {event.other_leg_uuid}"
    elif event.name == "CHANNEL_HANGUP_COMPLETE":
        extra = f" ({event.hangup_cause})"
    elif event.name == "CHANNEL_PARK" and event.variables.get("fscontrol_action"):
        extra = f" (fscontrol_action={event.variables['fscontrol_action']})"
    say(f"    switch: {event.name:<24} {who}{extra}")


def main() -> int:
    from .config import load
    from .controller import build, make_client
    from .park.view import table
    from .db import open_database
    from .errors import FscontrolError
    from .render import render_files
    from .render.contract import DIALPLAN_FILE
    from .render.render import in_context
    from .sim import SimSwitch

    logging.basicConfig(level=logging.WARNING, format="    log: %(levelname)s %(name)s: %(message)s")
    config = load(ROOT / "fscontrol.example.toml", env={})
    # the demo's database lives where it runs (make demo: the repository), not beside the example
    from .demo_smtp import DemoMailbox
    mailbox = DemoMailbox().start()
    config = dataclasses.replace(
        config,
        database=dataclasses.replace(config.database,
                                     embedded_dir=str(Path.cwd() / ".fscontrol" / "pgdata")),
        # voicemail: recordings where the demo runs; mail to a receiver inside the demo
        voicemail=dataclasses.replace(config.voicemail,
                                      storage=str(Path.cwd() / ".fscontrol" / "voicemail"),
                                      ring_timeout=5, min_message=1),
        smtp=dataclasses.replace(config.smtp, host="127.0.0.1", port=mailbox.port),
        users=tuple(dataclasses.replace(u, email=f"{u.name.lower()}@example.com")
                    for u in config.users))
    try:
        say("1. PostgreSQL: embedded, data in .fscontrol/pgdata (migrations applied)")
        database = open_database(config)
    except FscontrolError as e:
        say(f"fscontrol demo: {e}")
        return 2

    dialplan = in_context(render_files(config)[DIALPLAN_FILE], config.switch.context)
    switch = SimSwitch(password="demo-password", context=config.switch.context,
                       domain="fscontrol.test", dialplan=dialplan).start()
    say(f"2. simulated FreeSWITCH listening on 127.0.0.1:{switch.port}, running the dialplan "
        f"rendered from fscontrol.example.toml")
    site = dataclasses.replace(config, switch=dataclasses.replace(
        config.switch, esl_port=switch.port, esl_password=type(config.switch.esl_password)("demo-password")))
    esl = make_client(site)
    esl.on("*", show_event)
    controller = build(site, database, esl).start()
    park = controller.feature("park").service
    try:
        if not esl.wait_connected(timeout=10):
            say(f"fscontrol demo: the controller could not connect: {esl.last_error}")
            return 2
        say("3. controller connected over ESL (subscribed, channel registry reconciled)")

        alice, bob = switch.register("1001", "Alice"), switch.register("1002", "Bob")
        say("4. Alice (1001) calls Bob (1002); Bob answers")
        alice.dial("1002")
        bob.wait_ringing(timeout=5)
        ringing = wait(lambda: esl.registry.ringing_for("1002", "inbound"))
        say(f"    controller: {len(ringing)} call ringing for 1002 (what group pickup looks up)")
        bob.answer()
        alice.wait_connected(timeout=5)
        wait(lambda: any(ch.bridged_to for ch in esl.registry))
        say(f"    Alice is connected to {alice.connected_to()}; the controller tracks "
            f"{len(esl.registry)} live channels")
        say("5. Bob hangs up")
        bob.hangup()
        alice.wait_idle(timeout=5)
        wait(lambda: len(esl.registry) == 0)
        say(f"    Alice's call ended: {alice.last_hangup_cause}")
        carol = switch.register("1003", "Carol")
        say("6. Call Park: Alice calls Bob again; Bob presses *1 to park her")
        bob.auto_answer()
        alice.dial("1002")
        bob.wait_connected(to="1001", timeout=5)
        bob.send_dtmf("*1")
        parked = wait(lambda: park.store.all())
        orbit = parked[0].orbit
        alice.wait_hearing("music", timeout=5)
        bob.wait_idle(timeout=5)
        # the controller's view of Bob's hang-up prints a switch line: before the table, not in it
        wait(lambda: ("CHANNEL_HANGUP_COMPLETE", bob.calls[-1].uuid) in SEEN)
        say(f"    Alice is parked at orbit {orbit} and hears {alice.hearing()}; Bob's leg ended")
        parked_table = table(site, park.store.all())  # the query yields to other greenlets
        say("    fscontrol parked:\n" + "\n".join("      " + line for line in parked_table.splitlines()))
        say(f"7. Carol dials orbit {orbit} from her phone and retrieves the call")
        carol.dial(orbit)
        alice.wait_connected(to="1003", timeout=5)
        wait(lambda: not park.store.all())
        say(f"    Alice is connected to {alice.connected_to()}; orbit {orbit} is free again")
        say(f"8. Bob dials orbit {orbit}, now empty: a prompt, then hung up (never parked there)")
        bob.dial(orbit)
        bob.wait_idle(timeout=10)
        say(f"    Bob's call ended: {bob.last_hangup_cause}")
        alice.hangup()
        carol.wait_idle(timeout=5)
        wait(lambda: len(esl.registry) == 0)
        say("    call log: " + ", ".join(r["action"] for r in park.store.call_log(orbit)))
        pickup = controller.feature("pickup").service
        dave = switch.register("1004", "Dave")
        say("9. Group Call Pickup: Dave (1004) calls Bob, whose phone rings; Alice (1001, in "
            "group *8001 with Bob) dials *8001")
        bob.ring_forever()
        told = len(bob.messages)
        dave.dial("1002")
        bob.wait_ringing(timeout=5)
        alice.dial("*8001")
        alice.wait_connected(to="1004", timeout=5)
        bob.wait_idle(timeout=5)
        wait(lambda: len(bob.messages) > told)
        say(f"    Alice talks to {alice.connected_to()}; Bob's phone stopped ringing "
            f"({bob.last_hangup_cause}: \"call completed elsewhere\", no missed call); his "
            f"phone got the message {bob.messages[-1][1]!r}")
        alice.hangup()
        dave.wait_idle(timeout=5)
        wait(lambda: len(esl.registry) == 0)
        say("    call log: " + ", ".join(r["action"] for r in pickup.store.call_log()))
        if controller.feature("callviawork") is None:
            say("10. Call Via Work through the HTTP API: not in this build, skipped")
        else:
            call_via_work_over_http(site, database, controller, alice, bob, esl)
        voicemail = controller.feature("voicemail").service
        lamps = []
        esl.on("MESSAGE_WAITING", lambda ev: lamps.append(
            (ev.get("MWI-Message-Account"), ev.get("MWI-Voice-Message"))))
        say("11. Voicemail: Dave calls Bob, who rejects the call; Dave hears the greeting and the "
            "beep, talks for 2 s and hangs up")
        bob.reject_busy()
        before = len(lamps)
        dave.dial("1002")
        dave.wait_hearing("recording", timeout=10)
        dave.channel.speaking = True          # the simulator's caller "talks" (a tone is recorded)
        switch.spawn_later(2.0, setattr, dave.channel, "speaking", False)
        wait(lambda: not dave.channel.speaking, 5)
        dave.hangup()
        call = dave.calls[-1].uuid    # (an earlier demo run's messages are in the database too)
        mine = wait(lambda: [x for x in voicemail.store.messages("1002") if x.channel_uuid == call], 10)
        m = mine[0]
        say(f"    message {m.id} for 1002 from {m.caller_name} <{m.caller_number}>, "
            f"{m.duration_ms / 1000:.1f} s, recorded by the switch into {m.path}")
        wait(lambda: any(box.startswith("1002@") for box, _ in lamps[before:]), 5)
        lamp = [v for box, v in lamps[before:] if box.startswith("1002@")][-1]
        say(f"    MWI sent to Bob's phones: {lamp} (new/saved)")
        wait(lambda: [x for x in mailbox.messages if x["X-Fscontrol-Message"] == str(m.id)], 10)
        mail = next(x for x in mailbox.messages if x["X-Fscontrol-Message"] == str(m.id))
        [audio] = list(mail.iter_attachments())
        say(f"    email arrived for {mail['To']}: \"{mail['Subject']}\" with "
            f"{audio.get_filename()} ({len(audio.get_content())} bytes)")
        sent = wait(lambda: voicemail.store.message(m.id).email_state == "sent", 5)
        say(f"    delivery recorded: {voicemail.store.message(m.id).email_reply}" if sent else
            "    delivery not recorded yet")
        say("demo done.")
        return 0
    finally:
        controller.stop()
        switch.stop()
        mailbox.stop()


def http(method: str, url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    """One JSON request with the standard library (gevent-patched sockets: the demo's switch
    and controller keep running meanwhile)."""
    import json
    import urllib.error
    import urllib.request
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def stream_events(url: str, token: str, shown: list) -> None:
    """Reads the SSE stream and prints each event's kind and call state (until killed)."""
    import json
    import urllib.request
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    kind = None
    with urllib.request.urlopen(request, timeout=30) as response:
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind:
                data = json.loads(line[6:])
                shown.append(kind)
                if kind == "snapshot":
                    say(f"    event stream: snapshot ({len(data['calls'])} calls)")
                else:
                    say(f"    event stream: {kind:<14} {data.get('state')} with "
                        f"{(data.get('peer') or {}).get('number')}")


def call_via_work_over_http(site, database, controller, alice, bob, esl) -> None:
    import gevent
    from .api.server import ApiServer
    api = ApiServer(site, database, listen="127.0.0.1:0").start()
    api.controller = controller
    issued = None
    try:
        # short-lived and revoked at the end: the demo's database may be the one `make run` uses
        token, issued = api.context.tokens.create("1001", label="demo",
                                                  expires=timedelta(minutes=10))
        base = api.url + "/api/v1"
        say(f"10. Call Via Work through the HTTP API on {api.url} (a token for Alice, as "
            f"`fscontrol token create --user 1001` makes)")
        shown: list = []
        reader = gevent.spawn(stream_events, base + "/events", token, shown)
        wait(lambda: "snapshot" in shown)
        bob.auto_answer()
        status, placed = http("POST", base + "/calls", token, {"destination": "1002"})
        say(f"    POST /api/v1/calls {{\"destination\": \"1002\"}} -> {status} "
            f"{placed.get('state')} (id {placed.get('id')})")
        if status != 202:
            say(f"    refused: {placed}")
            return
        alice.wait_ringing(timeout=5)
        say(f"    Alice's phone rings first, showing \"{alice.display()}\"; she answers")
        alice.answer()
        alice.wait_connected(to="1002", timeout=10)
        status, call = http("GET", base + f"/calls/{placed['id']}", token)
        say(f"    Bob answered: GET /api/v1/calls/{{id}} -> {call.get('state')}, placement "
            f"{(call.get('placement') or {}).get('state')}")
        status, done = http("DELETE", base + f"/calls/{placed['id']}", token)
        say(f"    DELETE /api/v1/calls/{{id}} -> {status} {done.get('done')}")
        bob.wait_idle(timeout=5)
        wait(lambda: len(esl.registry) == 0)
        wait(lambda: shown.count("call_ended") >= 1)
        reader.kill()
    finally:
        if issued is not None:
            api.context.tokens.revoke(issued.id)
        api.stop(timeout=1)


if __name__ == "__main__":
    sys.exit(main())
