"""Email delivery over SMTP: the MIME message of a voicemail (the WAV attached, caller, time,
duration) or of a missed call, and one SMTP conversation whose outcome says what to do next:
sent (the server's 250 reply), retry (a 4xx reply, refused or broken connection, timeout) or
failed (a 5xx reply). TLS ("starttls" or implicit "tls") always verifies the server's
certificate and host name, against the system's CAs or `smtp.ca_file`; a server that does not
offer STARTTLS is never spoken to in plain text. The password is used for AUTH only, never
logged or put in a reply (scrubbed from the server's text too, in case a server echoes it)."""

from __future__ import annotations

import base64
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from .store import Message


SMTP_POLICY = email_policy.SMTP


@dataclass(frozen=True)
class Outcome:
    result: str          # "sent" | "retry" | "failed"
    reply: str           # the server's reply ("250 2.0.0 Ok: queued as X"), or why there was none


def compose(config, msg: Message, to: str, audio: bytes | None) -> EmailMessage:
    v, smtp = config.voicemail, config.smtp
    caller = msg.caller_name and f"{msg.caller_name} <{msg.caller_number}>" or msg.caller_number or "unknown"
    seconds = round(msg.duration_ms / 1000)
    when = msg.received_at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    mail = EmailMessage()
    mail["From"] = smtp.sender
    mail["To"] = to
    mail["Date"] = format_datetime(msg.received_at)
    mail["Message-ID"] = make_msgid("voicemail")
    mail["X-Fscontrol-Message"] = str(msg.id)
    if msg.kind == "missed":
        mail["Subject"] = f"Missed call from {caller}"
        mail.set_content(f"Missed call from {caller}\nTime: {when}\nMailbox: {msg.box}\n"
                         f"No message was left.\n")
        return mail
    mail["Subject"] = v.email_subject.format(caller=caller, duration=seconds, box=msg.box, time=when)
    mail.set_content(f"Voicemail from {caller}\nTime: {when}\nDuration: {seconds} s\n"
                     f"Mailbox: {msg.box}\n")
    if audio is not None:
        mail.add_attachment(audio, maintype="audio", subtype="wav",
                            filename=f"voicemail-{msg.box}-{msg.id}.wav")
    return mail


def _reply(code: int, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(str(text).split())}"


def tls_context(smtp_config) -> ssl.SSLContext:
    """Certificate and host name verified (ssl's defaults); a private CA from smtp.ca_file."""
    return ssl.create_default_context(cafile=smtp_config.ca_file or None)


def _scrub(outcome: Outcome, password: str) -> Outcome:
    if not password:
        return outcome
    reply = outcome.reply
    for secret in {password, base64.b64encode(password.encode()).decode()}:
        reply = reply.replace(secret, "***")
    return Outcome(outcome.result, reply) if reply != outcome.reply else outcome


def deliver(smtp_config, mail: EmailMessage) -> Outcome:
    return _scrub(_deliver(smtp_config, mail), smtp_config.password.reveal())


def _deliver(smtp_config, mail: EmailMessage) -> Outcome:
    """One SMTP conversation for `mail`. Classified as RFC 5321 says: 2xx done, 4xx transient,
    5xx permanent; no answer at all (refused, reset, timeout) is transient too."""
    s = smtp_config
    recipients = [mail["To"]]
    try:
        if s.security == "tls":
            server = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                      context=tls_context(s))
        else:
            server = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            server.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                if not server.has_extn("starttls"):
                    # no plain-text fallback: the password and the mail stay unsent
                    return Outcome("retry", "the server does not offer STARTTLS (smtp.security = "
                                            f"\"starttls\"); its EHLO reply: "
                                            f"{_reply(250, server.ehlo_resp or b'')}")
                server.starttls(context=tls_context(s))
                server.ehlo()
            if s.user:
                server.login(s.user, s.password.reveal())
            code, text = server.mail(s.sender)
            if code != 250:
                return _classify(code, text)
            for rcpt in recipients:
                code, text = server.rcpt(rcpt)
                if code not in (250, 251):
                    return _classify(code, text)
            # CRLF line ends: smtplib sends bytes as they are, and a bare-LF message is one
            # over-long line to a strict server (aiosmtpd: "500 Line too long")
            code, text = server.data(mail.as_bytes(policy=SMTP_POLICY))
            if code != 250:
                return _classify(code, text)
            return Outcome("sent", _reply(code, text))
        finally:
            try:
                server.quit()
            except (smtplib.SMTPException, OSError):
                server.close()
    except smtplib.SMTPAuthenticationError as e:
        return _classify(e.smtp_code, e.smtp_error)
    except smtplib.SMTPResponseException as e:
        return _classify(e.smtp_code, e.smtp_error)
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as e:
        return Outcome("retry", f"connection lost: {e}")
    except ssl.SSLCertVerificationError as e:
        return Outcome("retry", f"TLS failed: the certificate of {s.host}:{s.port} is not trusted "
                                f"({e.verify_message}; a private CA goes in smtp.ca_file)")
    except ssl.SSLError as e:
        return Outcome("retry", f"TLS failed: {e.reason or e}")
    except (socket.timeout, TimeoutError):
        return Outcome("retry", f"no answer within {s.timeout} s")
    except smtplib.SMTPException as e:     # before OSError: SMTPException is one
        return Outcome("retry", f"SMTP error: {e}")
    except OSError as e:
        return Outcome("retry", f"cannot connect to {s.host}:{s.port}: {e.strerror or e}")


def _classify(code: int, text) -> Outcome:
    reply = _reply(code, text)
    if 400 <= code < 500 or code < 200:
        return Outcome("retry", reply)
    return Outcome("failed", reply)
