-- Replicas (issue 18): every `python -m bot run` process on a PostgreSQL community writes its row here;
-- the leader is the one whose session holds the community's advisory lock (bot/db/leader.py). The rows
-- only tell people who is there (`python -m bot status`): the lock, not this table, decides who leads.
-- Unused on SQLite, where the writer lock file (bot/db/writer_lock.py) names the one process.
CREATE TABLE replica_nodes (
    node TEXT PRIMARY KEY,            -- host:pid:started, unique per process
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    command TEXT NOT NULL,
    started_at TEXT NOT NULL,         -- when the process started waiting or leading
    role TEXT NOT NULL,               -- 'standby' | 'leader' | 'stopped'
    leader_since TEXT,                -- when it took the lock
    seen_at TEXT NOT NULL,            -- its last heartbeat
    session_pid BIGINT                -- the PostgreSQL backend that holds (or waits for) the lock
);
