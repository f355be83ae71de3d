"""API commands (`api`/`bgapi`) with the reply texts the real switch gives, errors included."""
from __future__ import annotations

import json
import time

import gevent.local

from .apps import parse_inline
from .channels import Transfer
from .dialstring import split_originate_args
from .endpoints import OriginateFailed, originate

NO_CHANNEL = "-ERR No such channel!\n"


class Api:
    def __init__(self, switch):
        self.sw = switch
        self._local = gevent.local.local()
        self.table = {
            "status": self.status, "originate": self.originate, "uuid_bridge": self.uuid_bridge,
            "uuid_transfer": self.uuid_transfer, "uuid_broadcast": self.uuid_broadcast,
            "uuid_break": self.uuid_break, "uuid_kill": self.uuid_kill, "uuid_setvar": self.uuid_setvar,
            "uuid_getvar": self.uuid_getvar, "uuid_exists": self.uuid_exists, "uuid_hold": self.uuid_hold,
            "uuid_dump": self.uuid_dump, "uuid_park": self.uuid_park, "uuid_recv_dtmf": self.uuid_recv_dtmf,
            "uuid_send_dtmf": self.uuid_send_dtmf, "uuid_answer": self.uuid_answer, "show": self.show,
            "reloadxml": self.reloadxml, "hupall": self.hupall, "fsctl": self.fsctl, "chat": self.chat,
            "version": self.version, "hostname": self.hostname, "global_getvar": self.global_getvar,
            "global_setvar": self.global_setvar, "eval": self.eval, "conference": self.conference,
            "valet_info": self.valet_info, "uuid_setvar_multi": self.uuid_setvar_multi,
            "sofia": self.sofia, "local_stream": self.local_stream,
        }

    def execute(self, cmd, arg, after=None):
        """Run one command -> reply text. `after` collects work that must happen only once the
        reply (or BACKGROUND_JOB) is out, e.g. an originated channel starting its application."""
        fn = self.table.get(cmd)
        if fn is None:
            return "-ERR %s Command not found!\n" % cmd
        self._local.after = after if after is not None else []
        try:
            return fn(arg.strip())
        finally:
            pending = self._local.after
            self._local.after = None
            if after is None:
                for job in pending:
                    job()

    def after_reply(self, job):
        self._local.after.append(job)

    # -- core ------------------------------------------------------------------------------
    def status(self, arg):
        up = time.time() - self.sw.identity.started
        s = int(up)
        return ("UP 0 years, 0 days, %d hours, %d minutes, %d seconds, %d milliseconds, 0 microseconds\n"
                "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
                "%d session(s) since startup\n"
                "%d session(s) - peak %d, last 5min %d \n"
                "0 session(s) per Sec out of max 2000, peak 1, last 5min 1 \n"
                "1000 session(s) max\nmin idle cpu 0.00/99.00\nCurrent Stack Size/Max 240K/8192K\n"
                % (s // 3600, (s // 60) % 60, s % 60, int(up * 1000) % 1000, self.sw.session_count,
                   len(self.sw.channels()), self.sw.peak, self.sw.peak))

    def version(self, arg):
        return "FreeSWITCH Version 1.10.12-release~64bit (-release 64bit)\n"

    def hostname(self, arg):
        return self.sw.identity.hostname

    def global_getvar(self, arg):
        return self.sw.globals.get(arg, "")

    def global_setvar(self, arg):
        k, _, v = arg.partition("=")
        self.sw.globals[k.strip()] = v.strip()
        return "+OK"

    def eval(self, arg):
        if arg.startswith("uuid:"):
            u, _, rest = arg[5:].partition(" ")
            ch = self.sw.find(u)
            return self.sw.expand(rest, ch)
        return self.sw.expand(arg, None)

    def reloadxml(self, arg):
        self.sw.reload_dialplan()
        self.sw.fire_global("RELOADXML")
        return "+OK [Success]\n"

    def hupall(self, arg):
        cause = arg.split()[0] if arg else "MANAGER_REQUEST"
        for ch in self.sw.channels():
            ch.hangup(cause)
        return "+OK hangup all channels with cause %s\n" % cause

    def fsctl(self, arg):
        if arg.startswith("shutdown"):
            self.sw.spawn_later(0.5, self.sw.shutdown)
            return "+OK\n"
        return "-ERR Invalid command\n"

    def chat(self, arg):
        parts = arg.split("|", 4)
        if len(parts) < 4:
            return "-ERR Usage: chat <proto>|<from>|<to>|<message>|[<content-type>]\n"
        proto, frm, to, body = parts[:4]
        ctype = parts[4] if len(parts) > 4 and parts[4] else None
        user = to.split("@")[0]
        phone = self.sw.phones.get(user)
        # mod_dptools chat_api_function passes the 5th field as the type; without one mod_sofia
        # sends text/html, which the phones answer 415 (baresip in the live run of 2026-12-01):
        # a simulated phone takes text/plain only
        delivered = phone is not None and phone.registered and ctype == "text/plain"
        # switch_loadable_module.c, switch_core_chat_send_args: "type" only when given; the
        # API's send is blocking, so do_chat_send fires the event with Delivery-Failure "true"
        # or "false" after the chat interface answered (s08: the failure)
        self.sw.fire_global("MESSAGE", post=[
            ("proto", "global"), ("from", frm), ("to", to)] + ([("type", ctype)] if ctype else []) + [
            ("skip_global_process", "true"), ("blocking", "true"), ("dest_proto", proto),
            ("Delivery-Failure", "false" if delivered else "true")],
            body=body)
        if delivered:
            phone.messages.append((frm, body))
            return "Sent"
        return "Error! Message Not Sent"

    def sofia(self, arg):
        return "-ERR no reply\n"

    def local_stream(self, arg):
        """mod_local_stream's `local_stream` API (local_stream_function): the replies, missing
        newlines included. A stopped stream leaves the table (its thread ends); `start` of an
        unknown name launches it if local_stream.conf has it, else replies nothing."""
        argv = arg.split()[:5]
        if not argv:
            return "-USAGE: <show|start|reload|stop|hup> <local_stream_name>\n"
        sub, name = argv[0].lower(), argv[1] if len(argv) > 1 else None
        streams = self.sw.local_streams
        if sub == "hup" and name:
            return "+OK hup stream: %s" % name if name in streams else ""
        if sub in ("stop", "reload") and name:
            if name not in streams:
                return "-ERR Cannot locate local_stream %s!\n" % name
            if sub == "stop":
                streams.discard(name)
            return "+OK"
        if sub == "start" and name:
            conf = self.sw.local_stream_conf
            if name in streams or conf is None or name in conf:
                streams.add(name)
                return "+OK stream: %s" % name
            return ""
        if sub == "show":
            return "-ERR local_stream show is not simulated\n"   # the sim knows no locations
        return ""

    # -- originate -------------------------------------------------------------------------
    def originate(self, arg):
        args = split_originate_args(arg)
        if len(args) < 2:
            return "-USAGE: <call url> <exten>|&<application_name>(<app_args>) [<dialplan>] [<context>] [<cid_name>] [<cid_num>] [<timeout_sec>]\n"
        dial, target = args[0], args[1]
        timeout = None
        if len(args) > 6 and args[6].isdigit():
            timeout = int(args[6])
        try:
            ch = originate(self.sw, dial, timeout=timeout)
        except OriginateFailed as f:
            return "-ERR %s\n" % f.cause
        if target.startswith("&"):
            body = target[1:]
            if "(" in body and body.endswith(")"):
                app, data = body[:-1].split("(", 1)
            else:
                app, _, data = body.partition(" ")
            program = ("apps", [(app, data)])
        else:
            ctx = args[3] if len(args) > 3 else "default"
            program = ("dialplan_after_originate", target, ctx)
        if ch.kind == "loopback":
            ch.flip_cid()       # it runs its app now: switch_channel_sort_cid (s05's CALL_UPDATE)
        ch.fire("CALL_UPDATE")
        self.after_reply(lambda: self._start(ch, program))
        return "+OK %s\n" % ch.uuid

    def _start(self, ch, program):
        if not ch.alive or ch.greenlet is not None:
            return
        if program[0] == "dialplan_after_originate":
            ch.start(("dialplan", program[1], program[2]))
        else:
            ch.start(program)

    # -- uuid_* ------------------------------------------------------------------------------
    def _ch(self, arg):
        u = arg.split()[0] if arg.split() else ""
        return self.sw.find(u)

    def uuid_exists(self, arg):
        return "true" if self._ch(arg) else "false"

    def uuid_kill(self, arg):
        parts = arg.split()
        ch = self._ch(arg)
        if ch is None:
            return NO_CHANNEL
        ch.hangup(parts[1] if len(parts) > 1 else "NORMAL_CLEARING")
        return "+OK\n"

    def uuid_answer(self, arg):
        ch = self._ch(arg)
        if ch is None:
            return NO_CHANNEL
        ch.post("call", ch.answer)
        return "+OK\n"

    def uuid_setvar(self, arg):
        parts = arg.split(None, 2)
        ch = self._ch(arg)
        if ch is None:
            return NO_CHANNEL
        if len(parts) < 2:
            return "-USAGE: <uuid> <var> [value]\n"
        if len(parts) == 2:
            ch.vars.pop(parts[1], None)
        else:
            ch.vars[parts[1]] = parts[2]
        return "+OK\n"

    def uuid_setvar_multi(self, arg):
        u, _, rest = arg.partition(" ")
        ch = self.sw.find(u)
        if ch is None:
            return NO_CHANNEL
        for item in rest.split(";"):
            k, _, v = item.partition("=")
            if k:
                ch.vars[k] = v
        return "+OK\n"

    def uuid_getvar(self, arg):
        parts = arg.split()
        ch = self._ch(arg)
        if ch is None:
            return NO_CHANNEL
        if len(parts) < 2:
            return "-USAGE: <uuid> <var>\n"
        return self.sw.variable(ch, parts[1], "_undef_")

    def uuid_dump(self, arg):
        ch = self._ch(arg)
        if ch is None:
            return NO_CHANNEL
        from .wire import url_encode
        headers = self.sw.identity.core_headers("CHANNEL_DATA") + ch.channel_headers(True)
        return "".join("%s: %s\n" % (k, url_encode(v)) for k, v in headers) + "\n"

    def uuid_hold(self, arg):
        parts = arg.split()
        off = bool(parts) and parts[0] in ("off", "toggle")
        if parts and parts[0] in ("off", "toggle"):
            parts = parts[1:]
        ch = self.sw.find(parts[0]) if parts else None
        if ch is None:
            return "+OK Success\n"          # the real switch does not check (s12b)
        # switch_ivr.c, switch_ivr_hold: with moh (uuid_hold passes it) the channel's hold music
        # (switch_channel_get_hold_music: temp_hold_music, else hold_music, the channel's or a
        # global variable) is broadcast to the bridge partner (SMF_ECHO_ALEG | SMF_LOOP);
        # switch_ivr_unhold stops the partner's broadcast (switch_channel_stop_broadcast)
        partner = ch.bridged
        if off:
            if ch.kind != "phone" or not ch.held:
                return "-ERR Operation failed\n"    # seen on loopback legs in s12
            ch.held = False
            if partner is not None and getattr(partner, "hold_music_from", None) is ch:
                partner.hold_music_from = None
                partner.post("break")
            ch.fire("CHANNEL_UNHOLD")
            self.sw.notify()
            return "+OK Success\n"
        ch.held = True
        music = self.sw.variable(ch, "temp_hold_music") or self.sw.variable(ch, "hold_music")
        if music and partner is not None:
            partner.hold_music_from = ch
            cmd = self.sw.identity.core_headers("COMMAND") + [
                ("call-command", "execute"), ("execute-app-name", "playback"),
                ("execute-app-arg", music), ("loops", "-1")]
            partner.post("execute", "playback", music, None, cmd)
        ch.fire("CHANNEL_HOLD")
        self.sw.notify()
        return "+OK Success\n"

    def uuid_bridge(self, arg):
        parts = arg.split()
        if len(parts) < 2:
            return "-USAGE: <uuid> <other_uuid>\n"
        a, b = self.sw.find(parts[0]), self.sw.find(parts[1])
        if a is None or b is None:
            return "-ERR Invalid uuid\n"
        self.sw.apps.uuid_bridge(a, b)
        return "+OK %s\n" % b.uuid

    def uuid_transfer(self, arg):
        parts = arg.split(None, 1)
        ch = self._ch(arg)
        if ch is None:
            return NO_CHANNEL
        rest = parts[1] if len(parts) > 1 else ""
        leg = None
        if rest.startswith("-bleg ") or rest.startswith("-both "):
            leg, rest = rest.split(" ", 1)
        rest = rest.strip()
        if rest.endswith(" inline"):
            t = Transfer(None, inline_apps=parse_inline(rest[: -len(" inline")]))
        else:
            bits = rest.split()
            t = Transfer(bits[0] if bits else "", bits[1] if len(bits) > 1 else "XML",
                         bits[2] if len(bits) > 2 else ch.context)
        targets = [ch]
        if leg == "-bleg":
            targets = [ch.bridged] if ch.bridged else []
        elif leg == "-both" and ch.bridged:
            targets = [ch, ch.bridged]
        for t_ch in targets:
            t_ch.post("transfer", t)
        return "+OK\n"

    def uuid_park(self, arg):
        ch = self._ch(arg)
        if ch is None:
            return NO_CHANNEL
        ch.post("transfer", Transfer(None, inline_apps=[("park", "")]))
        return "+OK\n"

    def uuid_broadcast(self, arg):
        parts = arg.split()
        ch = self._ch(arg)
        if ch is None or len(parts) < 2:
            return "-ERR invalid uuid\n"
        path = parts[1]
        leg = parts[2] if len(parts) > 2 else "aleg"
        app, _, data = path.partition("::")
        if not data:
            app, data = "playback", path
        targets = []
        if leg in ("aleg", "both"):
            targets.append(ch)
        if leg in ("bleg", "both") and ch.bridged is not None:
            targets.append(ch.bridged)
        for t in targets:
            # switch_ivr_broadcast queues a COMMAND event on the channel; the session runs it and,
            # once the app returns, fires it as PRIVATE_COMMAND with its own headers first (s02)
            cmd = self.sw.identity.core_headers("COMMAND") + [
                ("call-command", "execute"), ("execute-app-name", app), ("execute-app-arg", data),
                ("event-lock", "true"), ("lead-frames", "5")]
            t.post("execute", app, data, None, cmd)
        return "+OK Message sent\n"

    def uuid_break(self, arg):
        ch = self._ch(arg)
        if ch is None:
            return NO_CHANNEL
        ch.post("break")
        return "+OK\n"

    def uuid_recv_dtmf(self, arg):
        parts = arg.split()
        ch = self._ch(arg)
        if ch is None:
            return NO_CHANNEL
        digits = parts[1] if len(parts) > 1 else ""
        # switch_channel.c, switch_channel_queue_dtmf_string: the digits are queued with
        # DTMF_FLAG_SKIP_PROCESS unless the string starts with "~"; with that flag
        # switch_core_session_recv_dtmf (switch_core_io.c) skips every receive hook, so
        # bind_meta_app never sees them, while a bridge still passes them to the peer
        process = digits.startswith("~")
        ch.post("dtmf", digits[1:] if process else digits, process)
        return "+OK %s received DTMF %s.\n" % (ch.uuid, digits)

    def uuid_send_dtmf(self, arg):
        parts = arg.split()
        ch = self._ch(arg)
        if ch is None:
            return NO_CHANNEL
        if ch.bridged is not None:
            ch.bridged.post("dtmf", parts[1] if len(parts) > 1 else "")
        return "+OK Success\n"

    # -- show --------------------------------------------------------------------------------
    def show(self, arg):
        words = arg.split()
        what = words[0] if words else ""
        as_json = "json" in words[-1:] if words else False
        if what in ("channels", "calls"):
            rows = self.sw.call_rows() if what == "calls" else [self.sw.channel_row(ch) for ch in self.sw.channels()]
            if as_json:
                if not rows:
                    return '{"row_count": 0}\n'
                return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":")) + "\n"
            if not rows:
                return "\n0 total.\n"
            keys = list(rows[0].keys())
            lines = [",".join(keys)] + [",".join(r[k] for k in keys) for r in rows]
            return "\n".join(lines) + "\n\n%d total.\n" % len(rows)
        return "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n"

    def conference(self, arg):
        words = arg.split()
        if words and words[0] == "list":
            return self.sw.conferences.api_list()
        return "-ERR Conference %s not found\n" % (words[0] if words else "")

    def valet_info(self, arg):
        return self.sw.valet.info(arg)
