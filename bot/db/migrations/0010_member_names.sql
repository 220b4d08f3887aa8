-- Display names of members, as the bot last saw them on the server: `python -m bot stats` runs
-- without Discord and names top contributors from here (ids only for members never seen).
CREATE TABLE member_names (
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
