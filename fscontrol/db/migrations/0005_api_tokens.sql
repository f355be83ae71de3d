-- HTTP API tokens (`fscontrol token create|list|revoke`). Only the SHA-256 of a token is kept: a
-- token is 32 random bytes, shown once when it is created, so a hash without salt or stretching
-- is as strong as the token (it is no password). `extension` is the user the token acts for
-- (an admin token may act for anyone and may have none). Revoked and expired rows stay for audit.
CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE,
    extension    text,
    admin        boolean NOT NULL DEFAULT false,
    label        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CHECK (admin OR extension IS NOT NULL)
);
