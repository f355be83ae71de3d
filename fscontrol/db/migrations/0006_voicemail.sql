-- Voicemail (fscontrol.voicemail), per switch.
-- A mailbox per user: created from the TOML users at start, options changed by the CLI.
-- The PIN is kept only as a slow hash (scrypt, per-box salt: "scrypt$n$r$p$salt_hex$hash_hex");
-- failed logons are counted across calls: `failures` since the last good logon (reset the PIN
-- at voicemail.pin_reset_after), `failures_total` (locked at voicemail.pin_lock_after).
CREATE TABLE voicemail_boxes (
    switch          text NOT NULL,
    box             text NOT NULL,
    pin_hash        text,                      -- NULL: no PIN set yet (dial-in refused)
    pin_must_change boolean NOT NULL DEFAULT false,
    failures        integer NOT NULL DEFAULT 0,
    failures_total  integer NOT NULL DEFAULT 0,
    locked_at       timestamptz,
    greeting        text,                      -- path of the recorded greeting, NULL: default
    email           text NOT NULL DEFAULT '',
    keep_local_copy boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (switch, box)
);

-- The last PINs of a box (hashes), newest first by id: voicemail.pin_history may not be reused.
CREATE TABLE voicemail_pin_history (
    id        bigserial PRIMARY KEY,
    switch    text NOT NULL,
    box       text NOT NULL,
    pin_hash  text NOT NULL,
    set_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX voicemail_pin_history_box ON voicemail_pin_history (switch, box, id);

-- Messages: state new -> saved (listened to, kept) -> deleted (undeletable until the call ends
-- or the CLI/API purges it); `path` NULL once the local copy is gone (mailed, not kept).
-- kind 'message' has audio; 'missed' is a missed-call notification (too short, or hung up
-- during the greeting) with no audio.
CREATE TABLE voicemail_messages (
    id            bigserial PRIMARY KEY,
    switch        text NOT NULL,
    box           text NOT NULL,
    kind          text NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'missed')),
    caller_number text NOT NULL DEFAULT '',
    caller_name   text NOT NULL DEFAULT '',
    received_at   timestamptz NOT NULL DEFAULT now(),
    duration_ms   integer NOT NULL DEFAULT 0,
    path          text,
    sha256        text,
    state         text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'saved', 'deleted')),
    channel_uuid  text,
    -- email delivery: none (no address / no SMTP), queued, sent, failed (with the reply)
    email_state   text NOT NULL DEFAULT 'none' CHECK (email_state IN ('none', 'queued', 'sent', 'failed')),
    email_reply   text,
    email_attempts integer NOT NULL DEFAULT 0,
    email_next_at timestamptz,                -- when the durable queue tries it next
    email_sent_at timestamptz,
    changed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX voicemail_messages_box ON voicemail_messages (switch, box, state);
CREATE INDEX voicemail_messages_queue ON voicemail_messages (switch, email_next_at)
    WHERE email_state = 'queued';
