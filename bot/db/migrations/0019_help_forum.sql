-- The help forum (issue 21): each question is a forum post, its state kept here (restart-safe), and
-- forum feedback (issue 20): the members' replies in a feedback item's post.
CREATE TABLE help_posts (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    thread_id BIGINT UNIQUE,                 -- the forum post, once it exists (/help ask posts through the outbox)
    asker_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '',        -- the question's text when asked with /help ask
    topic TEXT,                              -- a help.topics key
    source TEXT NOT NULL,                    -- command | forum
    state TEXT NOT NULL DEFAULT 'open',      -- open | answered | solved | closed
    asked_at TEXT NOT NULL,
    first_response_at TEXT,                  -- the team's first answer
    first_responder_id BIGINT,
    solved_at TEXT,
    solved_by BIGINT,
    answer_text TEXT,                        -- the answer picked as the solution (when Discord gave its text)
    answer_author_id BIGINT,
    last_activity_at TEXT NOT NULL,
    escalated_at TEXT,                       -- claimed once by the escalation timer
    closed_at TEXT,                          -- claimed once by the inactivity timer
    faq_key TEXT,                            -- promoted to this faq.yaml entry
    feedback_item_id BIGINT                  -- turned into this feedback item
);
CREATE INDEX help_posts_state ON help_posts (guild_id, state, asked_at);
CREATE INDEX help_posts_asked ON help_posts (guild_id, asked_at);

CREATE TABLE feedback_replies (
    message_id BIGINT PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES feedback_items (id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL,
    content TEXT NOT NULL DEFAULT '',        -- empty unless Discord shared it (no message-content intent)
    created_at TEXT NOT NULL
);
CREATE INDEX feedback_replies_item ON feedback_replies (item_id, created_at);
