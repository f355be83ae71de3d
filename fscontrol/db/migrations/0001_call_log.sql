-- Every feature's audit trail: one row per park, retrieve, ring-back, timeout, fallback, abandon,
-- pickup or click-to-call step, with the channels involved.
CREATE TABLE call_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    feature      text NOT NULL,
    action       text NOT NULL,
    channel_uuid text,
    other_uuid   text,
    orbit        text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX call_log_at ON call_log (at);
CREATE INDEX call_log_channel ON call_log (channel_uuid);
