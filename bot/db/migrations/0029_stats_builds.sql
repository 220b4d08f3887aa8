-- The stats rollups built in small steps (bot/db/stats_build.py): on a large community that upgrades,
-- or a bulk load, building them in one transaction held the writer for about a minute at 100,000
-- members. Each step is one short transaction that also records how far the build went, so the bot
-- keeps answering between steps, and a build cut short (kill -9) goes on where it stopped.

-- A guild's active member-days (stats_member_days, migration 0013) being built from the existing rows:
-- the activity rows up to (activity_day, activity_user) and the ledger rows up to ledger_id are in.
-- The row goes when the build is done (stats_member_days_state then holds the guild).
CREATE TABLE stats_member_days_build (
    guild_id BIGINT PRIMARY KEY,
    activity_day TEXT NOT NULL DEFAULT '',
    activity_user BIGINT NOT NULL DEFAULT 0,
    activity_done INTEGER NOT NULL DEFAULT 0,
    ledger_id BIGINT NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL
);

-- Where each kept window is going: its rows are the activity rows of days >= first_day and the ledger
-- rows at >= start_at (the writes keep it so), and the builder moves first_day and start_at a step at a
-- time to these targets, adding or subtracting the rows it passes. A window is read only when it is
-- there (first_day = target_first_day and start_at = target_start_at).
-- On first_day itself the activity rows of members >= first_user are in (0: the whole day), so a day's
-- rows are built a chunk of members at a time.
ALTER TABLE stats_window_state ADD COLUMN first_user BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stats_window_state ADD COLUMN target_first_day TEXT NOT NULL DEFAULT '';
ALTER TABLE stats_window_state ADD COLUMN target_start_at TEXT NOT NULL DEFAULT '';
UPDATE stats_window_state SET target_first_day = first_day, target_start_at = start_at;

-- A guild's quiz days (stats_quiz_days, migration 0023): exact from first_day on, in time_zone, except
-- while a fill runs: the answers at >= fill_start_at and < fill_at of the questions that were closed
-- when it started (ids up to fill_max_question, not in fill_open, a JSON list) are still to count;
-- the answers of the questions open then were counted when it started, and new ones by their writes.
CREATE TABLE stats_quiz_state (
    guild_id BIGINT PRIMARY KEY,
    time_zone TEXT NOT NULL,
    first_day TEXT NOT NULL,
    fill_start_at TEXT,
    fill_at TEXT,
    fill_max_question BIGINT,
    fill_open TEXT
);
INSERT INTO stats_quiz_state (guild_id, time_zone, first_day)
SELECT guild_id, MIN(time_zone), MIN(first_day) FROM stats_window_state GROUP BY guild_id;
