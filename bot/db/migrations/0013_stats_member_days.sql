-- Members active on each local day (a message, or a ledger entry) (issue 17): /stats reads a period's
-- daily active members as index counts here instead of grouping every message day and ledger row.
-- Kept on write, in the activity and ledger writes' transaction (bot/db/participation.py); built from
-- those tables at a guild's first /stats (stats_member_days_state), so rows written before this table
-- existed, or loaded in bulk, count too. Quiz answers are added at read time (they are few).
CREATE TABLE stats_member_days (
    guild_id BIGINT NOT NULL,
    day TEXT NOT NULL,                   -- local date (YYYY-MM-DD), as activity_daily.day / participation_ledger.day
    user_id BIGINT NOT NULL,
    PRIMARY KEY (guild_id, day, user_id)
);

-- The guilds whose stats_member_days were built from the existing rows.
CREATE TABLE stats_member_days_state (
    guild_id BIGINT PRIMARY KEY,
    built_at TEXT NOT NULL
);

-- The active days of an existing database are built after the migrations, in short steps while the
-- bot runs (bot/db/stats_build.py, migration 0029): built here, in one transaction, they held start-up
-- (and the writer) for a minute on a large community.
