"""[smtp] security over TLS against a real aiosmtpd server on 127.0.0.1 (its own process) with a
self-signed certificate made by the openssl CLI in the test's tmp dir: STARTTLS and implicit TLS
deliver when smtp.ca_file trusts the certificate; an untrusted one is not mailed, the reason is
recorded and the message waits in the queue (delivered once the CA is configured); a server
without STARTTLS gets nothing in plain text. The SMTP password never shows in a reply or log."""

from __future__ import annotations

import base64
import dataclasses
import logging
from email.message import EmailMessage

import pytest

from fscontrol.config.model import Secret
from fscontrol.voicemail import mailer
from parkrig import sites_made_by
from smtprig import Certificate

from .conftest import VmSite, until, vm_config
from .test_leave import _leave

PASSWORD = "s3cret-Pw-4711"


@pytest.fixture
def cert(tmp_path):
    return Certificate(tmp_path / "tls")


@pytest.fixture
def tls_vm(migrated, tmp_path, smtp):
    def build_site(**smtp_settings):
        base = vm_config(tmp_path, smtp.port)
        return VmSite(dataclasses.replace(base, smtp=dataclasses.replace(base.smtp, **smtp_settings)),
                      migrated)

    with sites_made_by(build_site) as make:
        yield make


def _state(site, message_id, state):
    return (lambda m: m if m.email_state == state else None)(site.admin().message(message_id))


def _no_password(caplog, *texts):
    encoded = base64.b64encode(PASSWORD.encode()).decode()
    for text in (caplog.text, *texts):
        assert PASSWORD not in text and encoded not in text


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_the_private_ca_delivers_with_auth(tls_vm, smtp, cert, security, caplog):
    caplog.set_level(logging.DEBUG)
    smtp.start(tls=security, cert=cert, auth=f"vm:{PASSWORD}")
    site = tls_vm(security=security, ca_file=str(cert.cert), user="vm", password=Secret(PASSWORD))
    alice = site.switch.register("1001", "Alice")
    _leave(site, alice, "1002", 1.2)
    [m] = site.wait_messages("1002", 1)
    sent = until(lambda: _state(site, m.id, "sent"), 15, message=f"never sent over {security}")
    assert sent.email_reply.startswith("250 ") and sent.email_attempts == 1
    [mail] = smtp.messages()
    assert mail["To"] == "bob@example.com"
    _no_password(caplog, sent.email_reply)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_untrusted_certificate_is_kept_with_the_reason_then_delivered_once_trusted(
        tls_vm, smtp, cert, security, caplog):
    smtp.start(tls=security, cert=cert, auth=f"vm:{PASSWORD}")
    site = tls_vm(security=security, user="vm", password=Secret(PASSWORD))   # no ca_file
    alice = site.switch.register("1001", "Alice")
    _leave(site, alice, "1002", 1.2)
    [m] = site.wait_messages("1002", 1)
    until(lambda: site.admin().message(m.id).email_attempts >= 1, 10, message="no attempt")
    queued = site.admin().message(m.id)
    assert queued.email_state == "queued", queued       # retried, not lost
    assert "certificate of 127.0.0.1" in queued.email_reply and "not trusted" in queued.email_reply
    assert "self-signed" in queued.email_reply and "smtp.ca_file" in queued.email_reply
    assert smtp.messages() == []
    _no_password(caplog, queued.email_reply)
    # the operator configures the private CA and restarts: the queued message goes out, once
    site.stop()
    site.switch.stop()
    trusted = tls_vm(security=security, ca_file=str(cert.cert), user="vm", password=Secret(PASSWORD))
    sent = until(lambda: _state(trusted, m.id, "sent"), 15, message="never sent once trusted")
    assert sent.email_reply.startswith("250 ") and len(smtp.messages()) == 1


def test_starttls_not_offered_nothing_goes_in_plain_text(tls_vm, smtp, caplog):
    smtp.start()                                   # plain SMTP, no STARTTLS in its EHLO
    site = tls_vm(security="starttls", user="vm", password=Secret(PASSWORD))
    alice = site.switch.register("1001", "Alice")
    _leave(site, alice, "1002", 1.2)
    [m] = site.wait_messages("1002", 1)
    until(lambda: site.admin().message(m.id).email_attempts >= 1, 10, message="no attempt")
    refused = site.admin().message(m.id)
    assert refused.email_state == "queued", refused
    assert "does not offer STARTTLS" in refused.email_reply
    assert "250 " in refused.email_reply and "8BITMIME" in refused.email_reply   # its EHLO reply
    assert smtp.messages() == []
    _no_password(caplog, refused.email_reply)


def _mail():
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "voicemail@localhost", "bob@example.com", "t"
    mail.set_content("x")
    return mail


def test_a_wrong_password_fails_and_never_shows(migrated, tmp_path, smtp, cert, caplog):
    caplog.set_level(logging.DEBUG)
    smtp.start(tls="starttls", cert=cert, auth="vm:the-right-one")
    config = vm_config(tmp_path, smtp.port).smtp
    config = dataclasses.replace(config, security="starttls", ca_file=str(cert.cert), user="vm",
                                 password=Secret(PASSWORD))
    outcome = mailer.deliver(config, _mail())
    assert outcome.result == "failed" and outcome.reply.startswith("535 "), outcome
    _no_password(caplog, outcome.reply, repr(outcome), repr(config))
    assert smtp.messages() == []


def test_a_server_echoing_the_password_is_scrubbed():
    echoed = mailer.Outcome("failed", f"535 bad {PASSWORD} / {base64.b64encode(PASSWORD.encode()).decode()}")
    scrubbed = mailer._scrub(echoed, PASSWORD)
    assert PASSWORD not in scrubbed.reply and "***" in scrubbed.reply
