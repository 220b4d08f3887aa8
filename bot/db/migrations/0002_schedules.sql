-- Schedules: which posts were claimed for which occurrence (the ledger), per-schedule state that must
-- survive restarts (first seen, paused), and the position of each content pool.
CREATE TABLE schedule_state (
    guild_id BIGINT NOT NULL,
    schedule_id TEXT NOT NULL,
    first_seen TEXT NOT NULL,               -- when this schedule id first appeared in the file
    active_since TEXT NOT NULL,             -- last time it became enabled/resumed: no back-fill before this
    active INTEGER NOT NULL DEFAULT 1,      -- present and enabled in the running file
    paused INTEGER NOT NULL DEFAULT 0,
    paused_by BIGINT,
    paused_at TEXT,
    PRIMARY KEY (guild_id, schedule_id)
);

CREATE TABLE schedule_ledger (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    schedule_id TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'regular',   -- regular (an occurrence of the rule) | manual (run-now)
    occurrence TEXT NOT NULL,               -- UTC
    status TEXT NOT NULL,                   -- claimed | posted | coalesced | skipped | paused | failed
    item INTEGER,                           -- the pool item drawn for this post
    claimed_at TEXT NOT NULL,
    detail TEXT,
    UNIQUE (guild_id, schedule_id, kind, occurrence)
);
CREATE INDEX schedule_ledger_status ON schedule_ledger (guild_id, status);

CREATE TABLE schedule_pools (
    guild_id BIGINT NOT NULL,
    pool TEXT NOT NULL,
    cycle INTEGER NOT NULL DEFAULT 0,       -- how many times the pool was used up
    position INTEGER NOT NULL DEFAULT 0,    -- items drawn in this cycle
    avoid_item INTEGER,                     -- the item this cycle must not start with (last of the previous)
    last_item INTEGER,
    PRIMARY KEY (guild_id, pool)
);
