-- The leadership term of a PostgreSQL community (issue 18, fencing): every process that takes the
-- leader lock raises `term` before it does anything else, and the outbox claims a row only in a
-- statement that finds the term still its own (bot/db/leader.py `Fence`). A leader that was frozen
-- while a standby took over therefore claims and sends nothing more. One row (slot 1), written by
-- the first leader. Unused on SQLite, where one process writes a database (bot/db/writer_lock.py).
CREATE TABLE leader_term (
    slot SMALLINT NOT NULL PRIMARY KEY,  -- always 1
    term BIGINT NOT NULL,                -- raised by each new leader
    node TEXT,                           -- replica_nodes.node of the leader that raised it
    since TEXT                           -- when it did
);

-- The leader term under which a PostgreSQL leader claimed an outbox row. A row still 'sending' under an
-- older term belongs to a deposed leader (one frozen between its claim and its commit, which committed
-- after its successor's start-up recovery): the leader takes it back (Outbox.drain, every 30 s).
ALTER TABLE outbox ADD COLUMN claimed_term BIGINT;
