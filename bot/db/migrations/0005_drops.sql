-- Collab drops (first come and raffles, codes, waitlist) and exclusive content reveals.

-- One row per run of a drop in a guild, created when it opens (a key may run again once closed). `remaining` is the unclaimed stock:
-- remaining + (claims with status 'claimed') = stock, always (checked by the bench and the tests).
CREATE TABLE drops (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    key TEXT NOT NULL,                  -- the id in drops.yaml
    occurrence TEXT NOT NULL,           -- what opened it: a schedule time, or 'manual:<time>'
    mode TEXT NOT NULL,                 -- first_come | raffle
    stock INTEGER NOT NULL CHECK (stock >= 1),
    remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= stock),
    claim_limit INTEGER NOT NULL DEFAULT 1 CHECK (claim_limit >= 1),
    waitlist INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'open',   -- open | closed
    opens_at TEXT NOT NULL,             -- when plain members may start; tier windows are offsets from it
    closes_at TEXT,
    opened_at TEXT NOT NULL,
    opened_by BIGINT,                   -- NULL: opened by a schedule
    closed_at TEXT,
    UNIQUE (guild_id, key, occurrence)
);
CREATE INDEX drops_key ON drops (guild_id, key, id);
-- at most one open run of a drop at a time
CREATE UNIQUE INDEX drops_one_open ON drops (guild_id, key) WHERE status = 'open';

-- A unit held by a member. `slot` numbers a member's held units 1..n (n <= the drop's limit), so the
-- UNIQUE constraint makes a second claim beyond the limit impossible whatever the concurrency; a
-- released claim gives up its slot (NULL) and is kept for the record.
CREATE TABLE drop_claims (
    id INTEGER PRIMARY KEY,
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    user_id BIGINT NOT NULL,
    slot INTEGER CHECK (slot >= 1),
    status TEXT NOT NULL DEFAULT 'claimed',  -- claimed | released
    source TEXT NOT NULL,               -- claim | waitlist | raffle
    claimed_at TEXT NOT NULL,
    released_at TEXT,
    released_by BIGINT,
    dm_queued INTEGER NOT NULL DEFAULT 0,  -- the member's DM (code, win, promotion) is in the outbox
    UNIQUE (drop_id, user_id, slot)
);
CREATE INDEX drop_claims_drop ON drop_claims (drop_id, status);

CREATE TABLE drop_waitlist (
    id INTEGER PRIMARY KEY,
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    user_id BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting',  -- waiting | promoted | left
    joined_at TEXT NOT NULL,
    UNIQUE (drop_id, user_id)
);
CREATE INDEX drop_waitlist_next ON drop_waitlist (drop_id, status, id);

-- Redemption codes, loaded from the CSV when the drop opens; each goes to at most one claim.
CREATE TABLE drop_codes (
    id INTEGER PRIMARY KEY,
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    code TEXT NOT NULL,
    claim_id INTEGER UNIQUE REFERENCES drop_claims (id),
    UNIQUE (drop_id, code)
);

-- Raffle entries (button entries: 1 ticket; campaigns: tickets from the participation ledger at the draw).
CREATE TABLE drop_entries (
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    user_id BIGINT NOT NULL,
    tickets INTEGER NOT NULL DEFAULT 1 CHECK (tickets >= 1),
    entered_at TEXT NOT NULL,
    PRIMARY KEY (drop_id, user_id)
);

-- Every draw, with what is needed to re-run it: the seed and the ordered entrant list.
CREATE TABLE drop_draws (
    id INTEGER PRIMARY KEY,
    drop_id INTEGER NOT NULL REFERENCES drops (id),
    round INTEGER NOT NULL,             -- 1 = the draw, 2.. = re-rolls
    seed TEXT NOT NULL,
    prizes INTEGER NOT NULL,
    entrants TEXT NOT NULL,             -- JSON [[user_id, tickets], ...] in the order the draw used
    excluded TEXT NOT NULL DEFAULT '[]', -- JSON [user_id, ...] not eligible in this round (earlier winners)
    winners TEXT NOT NULL,              -- JSON [user_id, ...] in draw order
    drawn_at TEXT NOT NULL,
    drawn_by BIGINT,
    UNIQUE (drop_id, round)
);

-- Content reveals: one row per (content, occurrence), claimed before posting so a reveal never
-- posts twice (a restart, a second timer). On-demand posts by moderators use occurrence 'manual:<n>'.
CREATE TABLE content_reveals (
    id INTEGER PRIMARY KEY,
    guild_id BIGINT NOT NULL,
    content_id TEXT NOT NULL,
    occurrence TEXT NOT NULL,
    channel TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    posted_by BIGINT,
    UNIQUE (guild_id, content_id, occurrence)
);
