-- /stats quiz figures that do not grow with the answers (issue 17): the answers each member gave on each
-- local day, kept with the answers (bot/db/quizzes.add_answers), so the kept week / month windows
-- (migration 0020) read a row per answerer per day instead of every quiz_answers row of the period.

-- The local day is the one of the guild's kept windows' time zone (stats_window_state.time_zone, the
-- same for all of a guild's windows); rows are written while a window is kept, and the days of a
-- window are filled from quiz_answers when /stats builds it (bot/db/stats.keep_window). Days before
-- the guild's earliest window are dropped as the windows move.
CREATE TABLE stats_quiz_days (
    guild_id BIGINT NOT NULL,
    day TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    answers BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, day, user_id)
);

-- The windows kept so far have no quiz days: they are built again (with them) at the next /stats.
DELETE FROM stats_windows;
DELETE FROM stats_window_state;
