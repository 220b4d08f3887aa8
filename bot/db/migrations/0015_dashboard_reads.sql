-- The dashboard's reads (bot/web, issue 19): the audit log filtered by action or by person and its
-- filters' choices (a skip-scan over these), the member list newest first and its search by name.
CREATE INDEX audit_log_action ON audit_log (guild_id, action, created_at);
CREATE INDEX audit_log_actor ON audit_log (guild_id, actor_id, created_at);
CREATE INDEX members_joined ON members (guild_id, status, joined_at);
-- the member search scans names (any part of one): this compact copy, not the table's rows
CREATE INDEX member_names_name ON member_names (guild_id, name, user_id);

-- Messages per channel per local hour ('YYYY-MM-DD HH'), counted with activity_daily's messages (no
-- content, no author): the health page's busiest channels and hours.
CREATE TABLE activity_channel_hours (
    guild_id BIGINT NOT NULL,
    hour TEXT NOT NULL,
    channel_id BIGINT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (guild_id, hour, channel_id)
);
