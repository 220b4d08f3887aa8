-- Feedback: members' items, their status history, upvotes, and 👍/👎 reactions on announcements.
CREATE TABLE feedback_items (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    author_id BIGINT NOT NULL,
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    anonymous INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'new',      -- new | under_review | planned | done | declined
    status_reason TEXT,                      -- why it was declined
    flagged INTEGER NOT NULL DEFAULT 0,
    flag_reasons TEXT NOT NULL DEFAULT '',   -- e.g. "keyword: refund; negative: worst"
    source_url TEXT,                         -- the message it was sent from (context menu)
    post_channel_id BIGINT,                  -- the public post, once the outbox sent it
    post_message_id BIGINT,
    queue_channel_id BIGINT,                 -- the mod-queue copy (flagged items)
    queue_message_id BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX feedback_items_author ON feedback_items (guild_id, author_id, created_at);
CREATE INDEX feedback_items_time ON feedback_items (guild_id, created_at);
CREATE INDEX feedback_items_status ON feedback_items (guild_id, status, created_at);

CREATE TABLE feedback_status_changes (
    id INTEGER PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES feedback_items (id) ON DELETE CASCADE,
    old_status TEXT NOT NULL,
    new_status TEXT NOT NULL,
    actor_id BIGINT NOT NULL,
    reason TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX feedback_status_changes_item ON feedback_status_changes (item_id, id);

CREATE TABLE feedback_upvotes (
    item_id INTEGER NOT NULL REFERENCES feedback_items (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (item_id, user_id)
);

CREATE TABLE feedback_reactions (
    guild_id BIGINT NOT NULL,
    channel_key TEXT NOT NULL,
    channel_id BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    vote INTEGER NOT NULL,                   -- +1 (👍) or -1 (👎): one vote per member per post
    updated_at TEXT NOT NULL,
    PRIMARY KEY (message_id, user_id)
);
CREATE INDEX feedback_reactions_time ON feedback_reactions (guild_id, updated_at);
