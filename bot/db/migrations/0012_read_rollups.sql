-- Reads that do not grow with history (issue 17).

-- One member's points in a window (guild_id, user_id, at >= ?) read from a covering index: about a
-- year of that member's rows, never the whole guild's window.
CREATE INDEX participation_ledger_member_time ON participation_ledger (guild_id, user_id, at, points);

-- A period's ledger rows across all members (stats, moving a point window, a drop campaign's entries)
-- read from the time index alone: it carries what those reads need, no row lookups in the table.
DROP INDEX participation_ledger_time;
CREATE INDEX participation_ledger_time ON participation_ledger (guild_id, at, user_id, action, points);

-- The stats read a period's days across all members (bot/db/stats.py).
CREATE INDEX activity_daily_day ON activity_daily (guild_id, day, user_id, messages);
CREATE INDEX quiz_answers_time ON quiz_answers (answered_at);

-- Per-member point totals over the leaderboard's rolling windows (window_days 0 = all time), kept on
-- every award and moved forward as entries leave a window: leaderboards and ranks read this index,
-- not the ledger. `reached` is the member's last scoring entry (ties: who got there first).
CREATE TABLE points_windows (
    guild_id BIGINT NOT NULL,
    window_days INTEGER NOT NULL,
    user_id BIGINT NOT NULL,
    points BIGINT NOT NULL DEFAULT 0,
    reached TEXT,
    PRIMARY KEY (guild_id, window_days, user_id)
);
CREATE INDEX points_windows_rank ON points_windows (guild_id, window_days, points DESC, reached, user_id);

-- Which windows are kept for a guild, and how far each has moved: ledger rows with at < expired_before
-- are out of it ('' for all time). A window without a row here is rebuilt from the ledger when read.
CREATE TABLE points_window_state (
    guild_id BIGINT NOT NULL,
    window_days INTEGER NOT NULL,
    expired_before TEXT NOT NULL,
    PRIMARY KEY (guild_id, window_days)
);

-- All-time totals of an existing ledger (the rolling windows are built at their first read).
INSERT INTO points_windows (guild_id, window_days, user_id, points, reached)
SELECT guild_id, 0, user_id, SUM(points), MAX(CASE WHEN points <> 0 THEN at END)
FROM participation_ledger GROUP BY guild_id, user_id;
INSERT INTO points_window_state (guild_id, window_days, expired_before)
SELECT DISTINCT guild_id, 0, '' FROM participation_ledger;
