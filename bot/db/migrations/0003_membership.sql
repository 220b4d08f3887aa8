-- Membership: who is a member and how they got in, the join/leave event log (stats reads it),
-- applications (approval mode), invite codes (invite mode) and tiers.
CREATE TABLE members (
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    status TEXT NOT NULL,               -- member | left
    via TEXT NOT NULL,                  -- open | approval | invite | manual
    inviter_id BIGINT,
    invite_id INTEGER,
    application_id INTEGER,
    rules_accepted_at TEXT,
    joined_at TEXT NOT NULL,
    left_at TEXT,
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX members_status ON members (guild_id, status);

-- one row per thing that happened to a membership; never updated
CREATE TABLE member_events (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    kind TEXT NOT NULL,                 -- joined | left | applied | approved | denied | expired | withdrawn | tier_up | tier_down
    detail TEXT NOT NULL DEFAULT '',    -- via mode, tier key, ...
    actor_id BIGINT,                    -- moderator or inviter, when there is one
    at TEXT NOT NULL
);
CREATE INDEX member_events_time ON member_events (guild_id, at);
CREATE INDEX member_events_kind ON member_events (guild_id, kind, at);

CREATE TABLE applications (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | approved | denied | expired | withdrawn
    answers TEXT NOT NULL,              -- JSON list of {"key", "label", "answer"}
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by BIGINT,
    reason TEXT
);
CREATE INDEX applications_user ON applications (guild_id, user_id, created_at);
CREATE INDEX applications_status ON applications (status, expires_at);
-- one pending application per person, even if two submits race
CREATE UNIQUE INDEX applications_one_pending ON applications (guild_id, user_id) WHERE status = 'pending';

CREATE TABLE invites (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    code_hash TEXT NOT NULL UNIQUE,     -- sha256 of the normalised code; the code itself is shown once
    hint TEXT NOT NULL,                 -- its first characters, to recognise it in /invite list
    creator_id BIGINT NOT NULL,
    by_moderator INTEGER NOT NULL DEFAULT 0,
    tier TEXT,                          -- tier key granted on use (moderator invites only)
    max_uses INTEGER NOT NULL,
    uses INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by BIGINT
);
CREATE INDEX invites_creator ON invites (guild_id, creator_id);

CREATE TABLE invite_uses (
    invite_id INTEGER NOT NULL REFERENCES invites (id),
    user_id BIGINT NOT NULL,
    used_at TEXT NOT NULL,
    PRIMARY KEY (invite_id, user_id)
);

-- wrong codes, for the lockout
CREATE TABLE invite_failures (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX invite_failures_user ON invite_failures (guild_id, user_id, at);

CREATE TABLE invite_lockouts (
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    locked_until TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- the tier a member holds now; manual_tier is a moderator's grant that the rules never take away
CREATE TABLE member_tiers (
    guild_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    tier TEXT,
    manual_tier TEXT,
    manual_by BIGINT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- small per-guild values (e.g. which welcome post is current)
CREATE TABLE membership_state (
    guild_id BIGINT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (guild_id, key)
);
