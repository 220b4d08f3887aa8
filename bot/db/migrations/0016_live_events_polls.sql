-- Live sessions as Discord guild scheduled events, and native polls.

-- One Discord scheduled event per source: an AMA session ('ama:<session id>') or one occurrence of a
-- schedule with `event:` ('schedule:<schedule id>:<occurrence, UTC>').
CREATE TABLE live_events (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    location_key TEXT,                     -- a channel key (a voice or stage channel links the event to it)
    location_text TEXT,                    -- else where it happens, as text (the AMA thread's link)
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    remind_at TEXT,                        -- when interested members get their reminder DM (NULL: none)
    discord_event_id BIGINT,               -- once Discord created it
    status TEXT NOT NULL DEFAULT 'scheduled', -- scheduled | active | completed | canceled
    created_at TEXT NOT NULL,
    reminded_at TEXT,                      -- the reminders were queued (the outbox sends each once)
    completed_at TEXT,
    UNIQUE (guild_id, source)
);
CREATE INDEX live_events_discord ON live_events (discord_event_id);

-- Who pressed Interested (from the gateway, and read back from Discord before the reminders go out).
CREATE TABLE live_event_interest (
    event_id INTEGER NOT NULL REFERENCES live_events (id),
    user_id BIGINT NOT NULL,
    interested INTEGER NOT NULL DEFAULT 1, -- 0: took it back (no reminder; no attendance unless they asked)
    first_at TEXT NOT NULL,
    PRIMARY KEY (event_id, user_id)
);

-- A planned AMA session (status 'planned') opens at starts_at.
ALTER TABLE ama_sessions ADD COLUMN starts_at TEXT;

-- Native polls: from a poll prompt, the `poll.post` action or /poll post.
CREATE TABLE polls (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    source TEXT NOT NULL,                  -- 'prompt:<prompt post id>' | 'schedule:<occurrence>:<prompt key or question>' | 'command:<interaction id>'
    question TEXT NOT NULL,
    answers TEXT NOT NULL,                 -- JSON list of the answers' texts; Discord's answer_id is index + 1
    multiselect INTEGER NOT NULL DEFAULT 0,
    channel_key TEXT NOT NULL,
    channel_id BIGINT,                     -- once posted
    message_id BIGINT,
    created_by BIGINT,                     -- the moderator of /poll post (NULL: the schedule)
    opened_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',   -- open | closed
    closed_at TEXT,
    UNIQUE (guild_id, source)
);
CREATE INDEX polls_message ON polls (message_id);

CREATE TABLE poll_votes (
    poll_id INTEGER NOT NULL REFERENCES polls (id),
    user_id BIGINT NOT NULL,
    answer_id INTEGER NOT NULL,
    voted_at TEXT NOT NULL,
    PRIMARY KEY (poll_id, user_id, answer_id)
);
