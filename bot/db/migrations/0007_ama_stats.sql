-- Guest sessions (AMA): a session with a thread, members' questions, one upvote per member.
CREATE TABLE ama_sessions (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    guest_id BIGINT NOT NULL,
    topic TEXT NOT NULL,
    channel_key TEXT NOT NULL,           -- where the opening post goes (a channel key from community.yaml)
    message_id BIGINT,                   -- the opening post, once the outbox sent it
    thread_id BIGINT,                    -- its thread: questions and answers go there
    opened_by BIGINT NOT NULL,
    opened_at TEXT NOT NULL,
    ends_at TEXT,                        -- optional: the session closes itself then
    status TEXT NOT NULL DEFAULT 'open', -- open | closed
    closed_at TEXT,
    closed_by BIGINT                     -- NULL when it expired
);
-- one open session per guild: /ama ask needs no session id
CREATE UNIQUE INDEX ama_one_open ON ama_sessions (guild_id) WHERE status = 'open';

CREATE TABLE ama_questions (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES ama_sessions (id),
    author_id BIGINT NOT NULL,
    text TEXT NOT NULL,
    asked_at TEXT NOT NULL,
    votes INTEGER NOT NULL DEFAULT 0,    -- kept equal to the rows in ama_votes (same transaction)
    answer TEXT,
    answered_by BIGINT,
    answered_at TEXT
);
CREATE INDEX ama_questions_session ON ama_questions (session_id, votes);

CREATE TABLE ama_votes (
    question_id INTEGER NOT NULL REFERENCES ama_questions (id),
    user_id BIGINT NOT NULL,
    voted_at TEXT NOT NULL,
    PRIMARY KEY (question_id, user_id)
);

-- Stats digests sent, one per guild and period end (the schedule's ledger already dedupes; this
-- also keeps the figures that went out, for comparing week to week).
CREATE TABLE stats_digests (
    guild_id BIGINT NOT NULL,
    period TEXT NOT NULL,                -- week | month
    period_end TEXT NOT NULL,            -- local date (YYYY-MM-DD) the period ends on, inclusive
    summary TEXT NOT NULL,               -- JSON of the figures
    created_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, period, period_end)
);
