-- Participation: one points ledger, daily prompts and suggestions, quizzes, activity counts.

-- Every point ever earned, once per (member, action, ref): a second award of the same thing is a no-op.
CREATE TABLE participation_ledger (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    action TEXT NOT NULL,               -- prompt_answer | quiz_answer | quiz_correct | feedback | ...
    ref TEXT NOT NULL,                  -- what was done: 'prompt:12', 'quiz:34', 'feedback:5'
    points INTEGER NOT NULL,
    day TEXT NOT NULL,                  -- YYYY-MM-DD in the community's time zone (streaks)
    at TEXT NOT NULL,
    UNIQUE (guild_id, user_id, action, ref)
);
CREATE INDEX participation_ledger_time ON participation_ledger (guild_id, at);
CREATE INDEX participation_ledger_member ON participation_ledger (guild_id, user_id, day);

-- Messages per member per day (community time zone), for the stats. No content is ever stored.
CREATE TABLE activity_daily (
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    day TEXT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, user_id, day)
);

-- Member suggestions for the prompt pool; approved ones join it as key 's-<id>'.
CREATE TABLE prompt_suggestions (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | approved | rejected
    created_at TEXT NOT NULL,
    decided_by BIGINT,
    decided_at TEXT
);
CREATE INDEX prompt_suggestions_status ON prompt_suggestions (guild_id, status);

-- One row per posted prompt. A schedule occurrence picks at most once; a prompt is used at most
-- once per cycle (a cycle ends when the whole pool has been used).
CREATE TABLE prompt_posts (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    occurrence TEXT NOT NULL,
    cycle INTEGER NOT NULL,
    prompt_key TEXT NOT NULL,
    text TEXT NOT NULL,
    channel TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    message_id BIGINT,
    thread_id BIGINT,
    UNIQUE (guild_id, occurrence),
    UNIQUE (guild_id, cycle, prompt_key)
);
CREATE INDEX prompt_posts_thread ON prompt_posts (thread_id);

CREATE TABLE quiz_runs (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    bank TEXT NOT NULL,
    channel TEXT NOT NULL,
    seconds INTEGER NOT NULL,
    pause_seconds INTEGER NOT NULL,
    speed_bonus INTEGER NOT NULL,
    started_by BIGINT,                  -- NULL when a schedule started it
    occurrence TEXT,                    -- schedule occurrence, so one occurrence starts one quiz
    status TEXT NOT NULL DEFAULT 'running',  -- running | finished
    started_at TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (guild_id, occurrence)
);
CREATE INDEX quiz_runs_status ON quiz_runs (guild_id, status);

-- The questions of a run, snapshotted (question, choices, answer, explanation as JSON) so a YAML edit
-- mid-quiz changes nothing. pending -> open -> closed; revealed once the reveal is queued.
CREATE TABLE quiz_questions (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES quiz_runs (id),
    position INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    opens_at TEXT,
    opened_at TEXT,
    closes_at TEXT,
    revealed INTEGER NOT NULL DEFAULT 0,
    UNIQUE (run_id, position)
);

CREATE TABLE quiz_answers (
    question_id INTEGER NOT NULL REFERENCES quiz_questions (id),
    user_id BIGINT NOT NULL,
    choice INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    points INTEGER NOT NULL,
    answered_at TEXT NOT NULL,
    UNIQUE (question_id, user_id)
);
