-- The dashboard's reads (bot/web, issue 19): the audit log filtered by action or by person and its
-- filters' choices (a skip-scan over these), and the member list newest first.
CREATE INDEX audit_log_action ON audit_log (guild_id, action, created_at);
CREATE INDEX audit_log_actor ON audit_log (guild_id, actor_id, created_at);
CREATE INDEX members_joined ON members (guild_id, status, joined_at);
