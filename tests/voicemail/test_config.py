"""[voicemail], [smtp] and users[].email: every problem names its key path; the SMTP password
comes from FSCONTROL_SMTP_PASSWORD and never shows."""

from __future__ import annotations

import pytest

from fscontrol.config import parse
from fscontrol.errors import ConfigError

USERS = [{"extension": "1001", "name": "Alice"}]


def problems(data, env=None):
    with pytest.raises(ConfigError) as e:
        parse(data, env or {})
    return dict(e.value.problems)


def test_defaults_are_valid():
    config = parse({"users": USERS}, {})
    assert config.voicemail.enabled and config.voicemail.pin_min_length == 6
    assert config.smtp.host == "" and config.smtp.security == "none"


@pytest.mark.parametrize("key,value,fragment", [
    ("pin_min_length", 3, "outside 4-24"),
    ("pin_min_length", 25, "outside 4-24"),
    ("max_message", 5, "outside 10-7200"),
    ("ring_timeout", 2, "outside 5-300"),
    ("storage", "", "must not be empty"),
    ("storage", "/var/vm dir", "spaces"),
    ("prompt_beep", "", "must not be empty"),
    ("prompt_beep", "a b.wav", "spaces"),
    ("say_language", "english", "language code"),
    ("email_subject", "from {who}", "{caller}"),
    ("pilot", "99", "must be * or #"),
])
def test_bad_voicemail_keys_name_their_path(key, value, fragment):
    found = problems({"users": USERS, "voicemail": {key: value}})
    assert fragment in found[f"voicemail.{key}"], found


def test_lock_before_reset_is_refused():
    found = problems({"users": USERS, "voicemail": {"pin_reset_after": 10, "pin_lock_after": 5}})
    assert "before a reset" in found["voicemail.pin_lock_after"]


def test_pilot_may_not_collide_with_another_feature_code():
    found = problems({"users": USERS, "voicemail": {"pilot": "*98"}})
    assert any("*98" in m for m in found.values()), found


def test_user_email_is_checked_and_needs_smtp():
    found = problems({"users": [{"extension": "1001", "email": "not-an-address"}],
                      "smtp": {"host": "mail.example.com"}})
    assert "not an email address" in found["users[0].email"]
    found = problems({"users": [{"extension": "1001", "email": "alice@example.com"}]})
    assert "smtp.host is empty" in found["users[0].email"]


def test_smtp_keys():
    found = problems({"users": USERS, "smtp": {"host": "mail example", "port": 0,
                                               "sender": "nobody"}})
    assert "not a host name" in found["smtp.host"]
    assert "not a TCP port" in found["smtp.port"]
    assert "not an email address" in found["smtp.sender"]
    found = problems({"users": USERS, "smtp": {"security": "ssl"}})
    assert "is not one of" in found["smtp.security"]


def test_smtp_password_from_the_environment_never_shown():
    config = parse({"users": USERS, "smtp": {"host": "mail.example.com", "user": "vm"}},
                   {"FSCONTROL_SMTP_PASSWORD": "s3cret-pw"})
    assert config.smtp.password.reveal() == "s3cret-pw"
    assert "s3cret-pw" not in repr(config)
    found = problems({"users": USERS, "smtp": {"host": "mail.example.com"}},
                     {"FSCONTROL_SMTP_PASSWORD": "s3cret-pw"})
    assert "password is set" in found["smtp.user"]
    assert "s3cret-pw" not in str(found)


def test_smtp_ca_file_must_exist_be_readable_and_hold_a_certificate(tmp_path):
    smtp = {"host": "mail.example.com", "security": "starttls"}
    missing = str(tmp_path / "nope.pem")
    found = problems({"users": USERS, "smtp": {**smtp, "ca_file": missing}})
    assert missing in found["smtp.ca_file"] and "does not exist" in found["smtp.ca_file"]
    found = problems({"users": USERS, "smtp": {**smtp, "ca_file": "ca.pem"}})
    assert "absolute path" in found["smtp.ca_file"]
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    found = problems({"users": USERS, "smtp": {**smtp, "ca_file": str(junk)}})
    assert "no PEM CA certificate" in found["smtp.ca_file"]
    from smtprig import Certificate
    good = Certificate(tmp_path / "ca").cert
    assert parse({"users": USERS, "smtp": {**smtp, "ca_file": str(good)}}, {}).smtp.ca_file == str(good)
    found = problems({"users": USERS, "smtp": {"host": "mail.example.com", "ca_file": str(good)}})
    assert 'smtp.security is "none"' in found["smtp.ca_file"]
