-- Wrong invite codes are also counted per community (many accounts guessing together share one
-- budget), so they are looked up by guild and time.
CREATE INDEX invite_failures_guild_time ON invite_failures (guild_id, at);
