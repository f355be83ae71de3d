-- Call Park: one row per parked call. The orbit is the primary key, so allocating an orbit is an
-- INSERT ... ON CONFLICT DO NOTHING: two calls (even from two controllers sharing this database)
-- can never hold one orbit. A row exists only while the call is parked or being rung back; when
-- it is retrieved, abandoned or sent to its fallback the row is deleted (the orbit is free) and
-- the call_log keeps the history.
CREATE TABLE parked_calls (
    orbit          text PRIMARY KEY,
    range_name     text NOT NULL,
    channel_uuid   text NOT NULL UNIQUE,
    caller_name    text NOT NULL DEFAULT '',
    caller_number  text NOT NULL DEFAULT '',
    parker         text,                      -- extension to ring back; NULL = nobody
    state          text NOT NULL CHECK (state IN ('parked', 'ringing_back')),
    attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    deadline       timestamptz NOT NULL,      -- parked: ring-back due; ringing_back: give up
    ringback_uuid  text,                      -- the ring-back leg while ringing_back
    parked_at      timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    controller_id  text NOT NULL              -- which controller runs its timers
);
CREATE INDEX parked_calls_controller ON parked_calls (controller_id);
CREATE INDEX call_log_orbit ON call_log (orbit);
