"""SQL for membership: members and their events, applications, invite codes, lockouts, tiers.

Every decision that two people could race on (approving an application, using the last seat of an
invite) is one conditional UPDATE ... RETURNING, so the database picks exactly one winner.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .connection import Database, Tx, from_db_time, to_db_time

_TIME_COLUMNS = ("joined_at", "left_at", "rules_accepted_at", "created_at", "expires_at", "decided_at",
                 "revoked_at", "used_at", "at", "locked_until", "updated_at")


def _row(row) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    for column in _TIME_COLUMNS:
        if column in out and isinstance(out[column], str):
            out[column] = from_db_time(out[column])
    if isinstance(out.get("answers"), str):
        out["answers"] = json.loads(out["answers"])
    return out


# --- members and events ------------------------------------------------------------------------------
async def add_event(tx: Tx, *, guild_id: int, user_id: int, kind: str, at: datetime, detail: str = "",
                    actor_id: int | None = None) -> int:
    row = await tx.fetchone(
        "INSERT INTO member_events (guild_id, user_id, kind, detail, actor_id, at) VALUES (?, ?, ?, ?, ?, ?)"
        " RETURNING id",
        (guild_id, user_id, kind, detail, actor_id, to_db_time(at)),
    )
    return row[0]


async def record_join(db: Database, *, guild_id: int, user_id: int, via: str, at: datetime,
                      inviter_id: int | None = None, invite_id: int | None = None,
                      application_id: int | None = None, actor_id: int | None = None,
                      rules_accepted: bool = False) -> int:
    """Mark the person a member (again) and log the join. Returns the event id."""
    async with db.transaction() as tx:
        return await record_join_tx(tx, guild_id=guild_id, user_id=user_id, via=via, at=at, inviter_id=inviter_id,
                                    invite_id=invite_id, application_id=application_id, actor_id=actor_id,
                                    rules_accepted=rules_accepted)


async def record_join_tx(tx: Tx, *, guild_id: int, user_id: int, via: str, at: datetime,
                         inviter_id: int | None = None, invite_id: int | None = None,
                         application_id: int | None = None, actor_id: int | None = None,
                         rules_accepted: bool = False) -> int:
    when = to_db_time(at)
    await tx.execute(
        "INSERT INTO members (guild_id, user_id, status, via, inviter_id, invite_id, application_id,"
        " rules_accepted_at, joined_at, left_at) VALUES (?, ?, 'member', ?, ?, ?, ?, ?, ?, NULL)"
        " ON CONFLICT (guild_id, user_id) DO UPDATE SET status = 'member', via = excluded.via,"
        " inviter_id = excluded.inviter_id, invite_id = excluded.invite_id,"
        " application_id = excluded.application_id, rules_accepted_at = excluded.rules_accepted_at,"
        " joined_at = excluded.joined_at, left_at = NULL",
        (guild_id, user_id, via, inviter_id, invite_id, application_id, when if rules_accepted else None, when),
    )
    return await add_event(tx, guild_id=guild_id, user_id=user_id, kind="joined", at=at, detail=via,
                           actor_id=actor_id if actor_id is not None else inviter_id)


async def record_leave(db: Database, *, guild_id: int, user_id: int, at: datetime, detail: str = "",
                       keep_tier: bool = False) -> bool:
    """Mark a member as left. False if they were not a recorded member (nothing logged then).
    `keep_tier`: they left the server, and their tier comes back if they return."""
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "UPDATE members SET status = 'left', left_at = ? WHERE guild_id = ? AND user_id = ? AND status = 'member'"
            " RETURNING user_id",
            (to_db_time(at), guild_id, user_id),
        )
        if row is None:
            return False
        await add_event(tx, guild_id=guild_id, user_id=user_id, kind="left", at=at, detail=detail)
        if not keep_tier:
            await tx.execute("DELETE FROM member_tiers WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
        return True


async def last_join_or_leave(db: Database, guild_id: int, user_id: int) -> dict | None:
    """The member's latest 'joined' or 'left' event."""
    return _row(await db.fetchone(
        "SELECT id, kind, detail, at FROM member_events WHERE guild_id = ? AND user_id = ? AND kind IN ('joined', 'left')"
        " ORDER BY at DESC, id DESC LIMIT 1", (guild_id, user_id)))


async def get_member(db: Database, guild_id: int, user_id: int) -> dict | None:
    return _row(await db.fetchone("SELECT * FROM members WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)))


async def member_ids(db: Database, guild_id: int) -> list[int]:
    rows = await db.fetchall("SELECT user_id FROM members WHERE guild_id = ? AND status = 'member' ORDER BY user_id",
                             (guild_id,))
    return [r[0] for r in rows]


async def count_members(db: Database, guild_id: int) -> int:
    return await db.fetchval("SELECT COUNT(*) FROM members WHERE guild_id = ? AND status = 'member'", (guild_id,))


async def events(db: Database, guild_id: int, *, since: datetime | None = None, until: datetime | None = None,
                 kinds: tuple[str, ...] = ()) -> list[dict]:
    """Membership events in time order (stats reads joins and leaves from here)."""
    sql = "SELECT id, guild_id, user_id, kind, detail, actor_id, at FROM member_events WHERE guild_id = ?"
    params: list[Any] = [guild_id]
    if since is not None:
        sql += " AND at >= ?"
        params.append(to_db_time(since))
    if until is not None:
        sql += " AND at < ?"
        params.append(to_db_time(until))
    if kinds:
        sql += f" AND kind IN ({','.join('?' * len(kinds))})"
        params.extend(kinds)
    rows = await db.fetchall(sql + " ORDER BY at, id", params)
    return [_row(r) for r in rows]


async def log_event(db: Database, **kwargs: Any) -> int:
    async with db.transaction() as tx:
        return await add_event(tx, **kwargs)


# --- applications --------------------------------------------------------------------------------------
async def create_application(tx: Tx, *, guild_id: int, user_id: int, answers: list[dict], at: datetime,
                             expires_at: datetime) -> dict | None:
    """Insert a pending application inside the caller's transaction (which queues its card with it);
    None if the person already has one pending."""
    row = await tx.fetchone(
        "INSERT INTO applications (guild_id, user_id, status, answers, created_at, expires_at)"
        " VALUES (?, ?, 'pending', ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *",
        (guild_id, user_id, json.dumps(answers, ensure_ascii=False), to_db_time(at), to_db_time(expires_at)),
    )
    if row is not None:
        await add_event(tx, guild_id=guild_id, user_id=user_id, kind="applied", at=at, detail=str(row["id"]))
    return _row(row)


async def pending_without_card(db: Database, card_prefix: str) -> list[dict]:
    """Pending applications whose queue card was never queued (no outbox row `<card_prefix><id>`)."""
    rows = await db.fetchall(
        "SELECT * FROM applications a WHERE a.status = 'pending'"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = CAST(? AS TEXT) || CAST(a.id AS TEXT))"
        " ORDER BY a.id", (card_prefix,))
    return [_row(r) for r in rows]


async def closed_with_live_card(db: Database, card_prefix: str, closed_suffix: str) -> list[dict]:
    """Expired or withdrawn applications whose card (`<card_prefix><id>`) was queued but its closed
    version (`<card_prefix><id><closed_suffix>`) never was: an older version left its buttons live."""
    rows = await db.fetchall(
        "SELECT * FROM applications a WHERE a.status IN ('expired', 'withdrawn')"
        " AND EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = CAST(? AS TEXT) || CAST(a.id AS TEXT))"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key ="
        "   CAST(? AS TEXT) || CAST(a.id AS TEXT) || CAST(? AS TEXT))"
        " ORDER BY a.id", (card_prefix, card_prefix, closed_suffix))
    return [_row(r) for r in rows]


async def get_application(db: Database, application_id: int) -> dict | None:
    return _row(await db.fetchone("SELECT * FROM applications WHERE id = ?", (application_id,)))


async def pending_application(db: Database, guild_id: int, user_id: int) -> dict | None:
    return _row(await db.fetchone(
        "SELECT * FROM applications WHERE guild_id = ? AND user_id = ? AND status = 'pending'", (guild_id, user_id)))


async def last_denial(db: Database, guild_id: int, user_id: int) -> dict | None:
    return _row(await db.fetchone(
        "SELECT * FROM applications WHERE guild_id = ? AND user_id = ? AND status = 'denied'"
        " ORDER BY decided_at DESC LIMIT 1", (guild_id, user_id)))


async def list_applications(db: Database, guild_id: int, status: str | None = "pending", limit: int = 25) -> list[dict]:
    if status is None:
        rows = await db.fetchall("SELECT * FROM applications WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
                                 (guild_id, limit))
    else:
        rows = await db.fetchall("SELECT * FROM applications WHERE guild_id = ? AND status = ? ORDER BY id LIMIT ?",
                                 (guild_id, status, limit))
    return [_row(r) for r in rows]


async def all_pending(db: Database) -> list[dict]:
    rows = await db.fetchall("SELECT * FROM applications WHERE status = 'pending' ORDER BY expires_at, id")
    return [_row(r) for r in rows]


async def decide_application(db: Database, application_id: int, *, status: str, by: int | None, at: datetime,
                             reason: str | None = None, only_expired_by: datetime | None = None) -> dict | None:
    """Move a pending application to `status`. Exactly one caller wins; the others get None.

    `only_expired_by`: for expiry, only if it is due by then (a timer and the sweep may both try).
    The event is logged in the same transaction, so it exists exactly once too.
    """
    sql = ("UPDATE applications SET status = ?, decided_at = ?, decided_by = ?, reason = ?"
           " WHERE id = ? AND status = 'pending'")
    params: list[Any] = [status, to_db_time(at), by, reason, application_id]
    if only_expired_by is not None:
        sql += " AND expires_at <= ?"
        params.append(to_db_time(only_expired_by))
    async with db.transaction() as tx:
        row = await tx.fetchone(sql + " RETURNING *", params)
        if row is not None:
            await add_event(tx, guild_id=row["guild_id"], user_id=row["user_id"], kind=status, at=at,
                            detail=str(application_id), actor_id=by)
        return _row(row)


async def due_applications(db: Database, now: datetime) -> list[dict]:
    rows = await db.fetchall(
        "SELECT * FROM applications WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at, id",
        (to_db_time(now),))
    return [_row(r) for r in rows]


# --- invites -------------------------------------------------------------------------------------------
async def create_invite(db: Database, *, guild_id: int, code_hash: str, hint: str, creator_id: int,
                        by_moderator: bool, tier: str | None, max_uses: int, at: datetime,
                        expires_at: datetime) -> dict:
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "INSERT INTO invites (guild_id, code_hash, hint, creator_id, by_moderator, tier, max_uses, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (guild_id, code_hash, hint, creator_id, int(by_moderator), tier, max_uses, to_db_time(at),
             to_db_time(expires_at)),
        )
        return _row(row)


async def invite_by_hash(db: Database | Tx, guild_id: int, code_hash: str) -> dict | None:
    return _row(await db.fetchone("SELECT * FROM invites WHERE guild_id = ? AND code_hash = ?", (guild_id, code_hash)))


async def get_invite(db: Database, guild_id: int, invite_id: int) -> dict | None:
    return _row(await db.fetchone("SELECT * FROM invites WHERE guild_id = ? AND id = ?", (guild_id, invite_id)))


async def list_invites(db: Database, guild_id: int, *, now: datetime, creator_id: int | None = None,
                       active_only: bool = True, limit: int = 25) -> list[dict]:
    sql = "SELECT * FROM invites WHERE guild_id = ?"
    params: list[Any] = [guild_id]
    if creator_id is not None:
        sql += " AND creator_id = ?"
        params.append(creator_id)
    if active_only:
        sql += " AND revoked_at IS NULL AND uses < max_uses AND expires_at > ?"
        params.append(to_db_time(now))
    rows = await db.fetchall(sql + " ORDER BY id DESC LIMIT ?", params + [limit])
    return [_row(r) for r in rows]


async def count_active_invites(db: Database, guild_id: int, creator_id: int, now: datetime) -> int:
    return await db.fetchval(
        "SELECT COUNT(*) FROM invites WHERE guild_id = ? AND creator_id = ? AND revoked_at IS NULL"
        " AND uses < max_uses AND expires_at > ?", (guild_id, creator_id, to_db_time(now)))


async def revoke_invite(db: Database, guild_id: int, invite_id: int, *, by: int, at: datetime) -> dict | None:
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "UPDATE invites SET revoked_at = ?, revoked_by = ? WHERE guild_id = ? AND id = ? AND revoked_at IS NULL"
            " RETURNING *", (to_db_time(at), by, guild_id, invite_id))
        return _row(row)


async def use_invite(db: Database, *, guild_id: int, invite_id: int, user_id: int, at: datetime,
                     via: str = "invite") -> dict | None:
    """Take one seat of a live invite and record the join, atomically. None if it is no longer usable.
    The returned invite row carries `event_id`, the join event."""
    when = to_db_time(at)
    async with db.transaction() as tx:
        row = await tx.fetchone(
            "UPDATE invites SET uses = uses + 1 WHERE guild_id = ? AND id = ? AND revoked_at IS NULL"
            " AND uses < max_uses AND expires_at > ? RETURNING *", (guild_id, invite_id, when))
        if row is None:
            return None
        await tx.execute("INSERT INTO invite_uses (invite_id, user_id, used_at) VALUES (?, ?, ?)"
                         " ON CONFLICT (invite_id, user_id) DO NOTHING", (invite_id, user_id, when))
        event_id = await record_join_tx(tx, guild_id=guild_id, user_id=user_id, via=via, at=at,
                                        inviter_id=row["creator_id"], invite_id=invite_id)
        return _row(row) | {"event_id": event_id}


async def guess_gate(tx: Tx, guild_id: int, user_id: int, *, window_start: datetime,
                     community_budget: int) -> tuple[datetime | None, list[datetime]]:
    """What decides whether a guess may be checked, read inside the guess's own transaction: the
    member's lock end (or None), and the community's most recent wrong codes since `window_start`
    (newest first, at most `community_budget` of them)."""
    locked = await tx.fetchval("SELECT locked_until FROM invite_lockouts WHERE guild_id = ? AND user_id = ?",
                               (guild_id, user_id))
    rows = await tx.fetchall(
        "SELECT at FROM invite_failures WHERE guild_id = ? AND at > ? ORDER BY at DESC LIMIT ?",
        (guild_id, to_db_time(window_start), community_budget))
    return from_db_time(locked), [from_db_time(r[0]) for r in rows]


async def record_failure(tx: Tx, *, guild_id: int, user_id: int, at: datetime,
                         window_start: datetime) -> tuple[int, int]:
    """Count a wrong code (inside the guess's transaction). Returns the wrong codes since
    `window_start`: (this member's, the whole community's). Failures are kept for their window:
    neither a lockout nor a successful join wipes them."""
    await tx.execute("INSERT INTO invite_failures (guild_id, user_id, at) VALUES (?, ?, ?)",
                     (guild_id, user_id, to_db_time(at)))
    row = await tx.fetchone(
        "SELECT COALESCE(SUM(CASE WHEN user_id = ? THEN 1 ELSE 0 END), 0), COUNT(*) FROM invite_failures"
        " WHERE guild_id = ? AND at > ?", (user_id, guild_id, to_db_time(window_start)))
    return int(row[0]), int(row[1])


async def lock_member(tx: Tx, guild_id: int, user_id: int, until: datetime) -> None:
    await tx.execute(
        "INSERT INTO invite_lockouts (guild_id, user_id, locked_until) VALUES (?, ?, ?)"
        " ON CONFLICT (guild_id, user_id) DO UPDATE SET locked_until = excluded.locked_until",
        (guild_id, user_id, to_db_time(until)))


# --- tiers ---------------------------------------------------------------------------------------------
async def get_tier_row(db: Database, guild_id: int, user_id: int) -> dict | None:
    return _row(await db.fetchone("SELECT * FROM member_tiers WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)))


async def set_manual_tier(db: Database, *, guild_id: int, user_id: int, tier: str | None, by: int | None,
                          at: datetime) -> None:
    await db.execute(
        "INSERT INTO member_tiers (guild_id, user_id, tier, manual_tier, manual_by, updated_at)"
        " VALUES (?, ?, NULL, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
        " manual_tier = excluded.manual_tier, manual_by = excluded.manual_by, updated_at = excluded.updated_at",
        (guild_id, user_id, tier, by, to_db_time(at)))


async def change_tier(db: Database, *, guild_id: int, user_id: int, old: str | None, new: str | None, at: datetime,
                      kind: str, detail: str, actor_id: int | None) -> int | None:
    """Move the stored tier from `old` to `new`; None if someone else changed it first. Returns the event id."""
    async with db.transaction() as tx:
        current = await tx.fetchone("SELECT tier FROM member_tiers WHERE guild_id = ? AND user_id = ?",
                                    (guild_id, user_id))
        if (current["tier"] if current else None) != old:
            return None
        await tx.execute(
            "INSERT INTO member_tiers (guild_id, user_id, tier, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (guild_id, user_id) DO UPDATE SET tier = excluded.tier, updated_at = excluded.updated_at",
            (guild_id, user_id, new, to_db_time(at)))
        return await add_event(tx, guild_id=guild_id, user_id=user_id, kind=kind, at=at, detail=detail,
                               actor_id=actor_id)


async def tier_holders(db: Database, guild_id: int) -> list[dict]:
    rows = await db.fetchall("SELECT * FROM member_tiers WHERE guild_id = ? AND (tier IS NOT NULL OR manual_tier IS NOT NULL)",
                             (guild_id,))
    return [_row(r) for r in rows]


async def joined_between(db: Database, guild_id: int, start: datetime, end: datetime) -> set[int]:
    """Members who joined (or came back) at start <= at < end (the daily tier review looks at them)."""
    rows = await db.fetchall("SELECT DISTINCT user_id FROM member_events WHERE guild_id = ? AND kind = 'joined'"
                             " AND at >= ? AND at < ?", (guild_id, to_db_time(start), to_db_time(end)))
    return {int(r[0]) for r in rows}


# --- small state ---------------------------------------------------------------------------------------
async def get_state(db: Database, guild_id: int, key: str) -> str | None:
    return await db.fetchval("SELECT value FROM membership_state WHERE guild_id = ? AND key = ?", (guild_id, key))


async def set_state(db: Database, guild_id: int, key: str, value: str) -> None:
    await db.execute(
        "INSERT INTO membership_state (guild_id, key, value) VALUES (?, ?, ?)"
        " ON CONFLICT (guild_id, key) DO UPDATE SET value = excluded.value", (guild_id, key, value))


async def member_directory(db: Database, guild_id: int, *, query: str | None, limit: int) -> list[dict[str, Any]]:
    """Current members, newest first, with tier, all-time points and name; `query` matches a name
    (any part) or an exact user id (the dashboard's member list)."""
    where, params = ["m.guild_id = ?", "m.status = 'member'"], [guild_id]
    if query:
        # the names first (one table), then only their members: not every member's joins, then a filter
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        named = "SELECT user_id FROM member_names WHERE guild_id = ? AND name LIKE ? ESCAPE '\\' LIMIT 1000"
        if query.isdigit():
            where.append(f"(m.user_id = ? OR m.user_id IN ({named}))")
            params += [int(query), guild_id, like]
        else:
            where.append(f"m.user_id IN ({named})")
            params += [guild_id, like]
    rows = await db.fetchall(
        "SELECT m.user_id, m.via, m.joined_at, n.name, t.tier, COALESCE(p.points, 0) AS points"
        " FROM members m"
        " LEFT JOIN member_names n ON n.guild_id = m.guild_id AND n.user_id = m.user_id"
        " LEFT JOIN member_tiers t ON t.guild_id = m.guild_id AND t.user_id = m.user_id"
        " LEFT JOIN points_windows p ON p.guild_id = m.guild_id AND p.window_days = 0 AND p.user_id = m.user_id"
        f" WHERE {' AND '.join(where)} ORDER BY m.joined_at DESC, m.user_id DESC LIMIT ?", (*params, limit))
    return [_row(r) for r in rows]
