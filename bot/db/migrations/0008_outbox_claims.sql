-- Crash-safe sending: a row is claimed ('sending') only just before it goes out. `claimed_at` is the
-- time of its first attempt: a resend within Discord's nonce window carries the same nonce (Discord
-- returns the first message); after it, the bot looks in the channel for the message first.
-- `failure` is the cause of a permanent failure (too_large, invalid_form, missing_permission,
-- unknown_channel, dms_closed, ...), for the mod-log notice.
ALTER TABLE outbox ADD COLUMN claimed_at TEXT;
ALTER TABLE outbox ADD COLUMN failure TEXT;
