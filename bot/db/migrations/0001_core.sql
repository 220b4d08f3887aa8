-- The spine: moderator audit trail and the outbox that paces everything the bot sends later.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    actor_id BIGINT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_guild_time ON audit_log (guild_id, created_at);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    guild_id BIGINT NOT NULL,
    target_kind TEXT NOT NULL,          -- 'channel' (a channel key) | 'dm' (a user id) | 'channel_id'
    target TEXT NOT NULL,
    payload TEXT NOT NULL,              -- JSON of OutMessage
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | sending | sent | failed | unknown
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    message_id BIGINT,
    error TEXT
);
CREATE INDEX outbox_due ON outbox (status, not_before, id);
