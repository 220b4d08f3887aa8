-- /stats reads that do not grow with the period's rows (issue 17): the week's and the month's figures
-- ending today come from per-member sums kept on write, and the chart's daily active members from a
-- count per day, instead of summing half a million ledger rows per call (bot/db/stats.py).

-- Per member: what they did in the days of a window (window_days 7 = week, 30 = month) from its
-- first day on (stats_window_state). Kept in the activity and ledger writes' transactions
-- (bot/db/participation.py); the days that leave a window are subtracted when /stats moves it.
-- A row exists only while messages > 0 or parts > 0 (a member active in the window).
CREATE TABLE stats_windows (
    guild_id BIGINT NOT NULL,
    window_days INTEGER NOT NULL,
    user_id BIGINT NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,  -- activity_daily messages
    parts BIGINT NOT NULL DEFAULT 0,     -- participation_ledger rows
    points BIGINT NOT NULL DEFAULT 0,    -- their points
    prompts BIGINT NOT NULL DEFAULT 0,   -- of which prompt answers
    score BIGINT NOT NULL DEFAULT 0,     -- messages + parts: the top contributors' order
    PRIMARY KEY (guild_id, window_days, user_id)
);
CREATE INDEX stats_windows_top ON stats_windows (guild_id, window_days, score DESC, points DESC, user_id);

-- Where each kept window starts: activity rows of days >= first_day and ledger rows at >= start_at
-- (first_day's local midnight in UTC, in time_zone) are in it. A window without a row here, or kept in
-- another time zone, is built from the rows when /stats reads it. Its totals over the members' rows are
-- kept with them (the writes see each member's row go from nothing to something), so a report reads
-- them here instead of summing a row per member.
CREATE TABLE stats_window_state (
    guild_id BIGINT NOT NULL,
    window_days INTEGER NOT NULL,
    first_day TEXT NOT NULL,
    start_at TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 0,         -- rows (members with messages or ledger rows)
    posters BIGINT NOT NULL DEFAULT 0,        -- rows with messages > 0
    participants BIGINT NOT NULL DEFAULT 0,   -- rows with parts > 0
    messages BIGINT NOT NULL DEFAULT 0,       -- SUM(messages)
    prompt_answers BIGINT NOT NULL DEFAULT 0, -- SUM(prompts)
    prompt_people BIGINT NOT NULL DEFAULT 0,  -- rows with prompts > 0
    PRIMARY KEY (guild_id, window_days)
);

-- Members active on each local day: the number of stats_member_days rows of that day, kept with them.
CREATE TABLE stats_days (
    guild_id BIGINT NOT NULL,
    day TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day)
);
INSERT INTO stats_days (guild_id, day, active)
SELECT guild_id, day, COUNT(*) FROM stats_member_days GROUP BY guild_id, day;
