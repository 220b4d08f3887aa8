"""Invite mode: codes with max uses, expiry and an optional tier; wrong guesses lock you out.

Guessing is bounded twice, within `attempt_window_minutes`: `max_failed_attempts` wrong codes per
member (then a lockout of `lockout_minutes`), and `community_max_failed_attempts` from everyone
together (then codes pause for everyone until the window has room: many accounts guessing share
one budget). The refusal, the look-up and the count are one transaction, so simultaneous guesses
cannot all be checked; a success does not wipe the count. Refusals say how long to wait."""
from __future__ import annotations

import logging
import math
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.db import membership as repo
from bot.errors import UserError

from . import _codes as codes
from ._results import CreatedInvite, Invite, JoinResult, discord_time
from ._roster import Roster

if TYPE_CHECKING:
    from bot.app import App

    from ._tiers import Tiers

log = logging.getLogger(__name__)

MAX_USES_LIMIT = 1000
MAX_EXPIRY_DAYS = 365


class Invites:
    def __init__(self, app: "App", roster: Roster, tiers: "Tiers") -> None:
        self.app = app
        self.roster = roster
        self.tiers = tiers

    @property
    def settings(self):
        return self.app.config.community.membership.invites

    async def create(self, guild_id: int, creator_id: int, *, is_moderator: bool, max_uses: int | None = None,
                     expires_days: int | None = None, tier: str | None = None) -> CreatedInvite:
        s = self.settings
        max_uses = s.default_max_uses if max_uses is None else max_uses
        expires_days = s.default_expiry_days if expires_days is None else expires_days
        if not 1 <= max_uses <= MAX_USES_LIMIT:
            raise UserError("membership.invite_bad_uses", max=MAX_USES_LIMIT)
        if not 1 <= expires_days <= MAX_EXPIRY_DAYS:
            raise UserError("membership.invite_bad_expiry", max=MAX_EXPIRY_DAYS)
        if tier is not None and tier not in {t.key for t in self.app.config.community.tiers}:
            raise UserError("membership.unknown_tier", tier=tier)
        now = self.app.clock.now()
        if not is_moderator:
            if not s.members_can_create:
                raise UserError("core.not_moderator")
            if not await self.roster.is_member(guild_id, creator_id):
                raise UserError("membership.not_member")
            if tier is not None:
                raise UserError("membership.invite_tier_moderators_only")
            if max_uses > s.default_max_uses or expires_days > s.default_expiry_days:
                raise UserError("membership.invite_member_limits", uses=s.default_max_uses, days=s.default_expiry_days)
            active = await repo.count_active_invites(self.app.db, guild_id, creator_id, now)
            if active >= s.member_quota:
                raise UserError("membership.invite_quota", quota=s.member_quota)
        for _ in range(5):  # a collision in 59 bits will not happen; the loop is only belt and braces
            code = codes.new_code()
            try:
                row = await repo.create_invite(
                    self.app.db, guild_id=guild_id, code_hash=codes.code_hash(code), hint=codes.hint(code),
                    creator_id=creator_id, by_moderator=is_moderator, tier=tier, max_uses=max_uses, at=now,
                    expires_at=now + timedelta(days=expires_days))
                break
            except sqlite3.IntegrityError:
                continue
        else:  # pragma: no cover
            raise RuntimeError("could not draw a unique invite code")
        invite = Invite.from_row(row)
        await self.app.audit.record(guild_id, creator_id, "invite.create", f"#{invite.id} {invite.hint}…",
                                    f"max uses {max_uses}, expires {discord_time(invite.expires_at, 'D')}"
                                    + (f", tier {tier}" if tier else ""))
        return CreatedInvite(invite, code)

    async def list(self, guild_id: int, user_id: int, *, is_moderator: bool) -> list[Invite]:
        rows = await repo.list_invites(self.app.db, guild_id, now=self.app.clock.now(),
                                       creator_id=None if is_moderator else user_id)
        return [Invite.from_row(r) for r in rows]

    async def revoke(self, guild_id: int, actor_id: int, invite_id: int, *, is_moderator: bool) -> Invite:
        row = await repo.get_invite(self.app.db, guild_id, invite_id)
        if row is None:
            raise UserError("membership.invite_not_found", id=invite_id)
        if not is_moderator and row["creator_id"] != actor_id:
            raise UserError("membership.invite_not_yours", id=invite_id)
        revoked = await repo.revoke_invite(self.app.db, guild_id, invite_id, by=actor_id, at=self.app.clock.now())
        if revoked is None:
            raise UserError("membership.invite_already_revoked", id=invite_id)
        await self.app.audit.record(guild_id, actor_id, "invite.revoke", f"#{invite_id} {row['hint']}…")
        return Invite.from_row(revoked)

    async def redeem(self, guild_id: int, user_id: int, code: str) -> JoinResult:
        """`/join code:` — checks lockouts, the code, then takes a seat and the member role."""
        if await self.roster.is_member(guild_id, user_id):
            raise UserError("membership.already_member")
        s = self.settings
        now = self.app.clock.now()
        window_start = now - timedelta(minutes=s.attempt_window_minutes)
        hashed = codes.code_hash(code) if codes.plausible(code) else None
        row = refusal = wrong = None
        # the refusal, the look-up and the count of a wrong code are ONE transaction: simultaneous
        # guesses are checked one after another, so never more than the budget is checked
        async with self.app.db.transaction() as tx:
            locked_until, recent = await repo.guess_gate(tx, guild_id, user_id, window_start=window_start,
                                                         community_budget=s.community_max_failed_attempts)
            refusal = guess_refusal(now, locked_until, recent, s)
            if refusal is None:
                row = await repo.invite_by_hash(tx, guild_id, hashed) if hashed else None
                if row is None:
                    mine, everyone = await repo.record_failure(tx, guild_id=guild_id, user_id=user_id, at=now,
                                                               window_start=window_start)
                    locked = now + timedelta(minutes=s.lockout_minutes) if mine >= s.max_failed_attempts else None
                    if locked is not None:
                        await repo.lock_member(tx, guild_id, user_id, locked)
                    wrong = WrongCode(mine, everyone, locked)
        if refusal is not None:
            raise refusal
        if wrong is not None:
            await self._wrong_code(guild_id, user_id, wrong)
        self._refuse_if_dead(row)
        if not await self.roster.give_member_role(guild_id, user_id, reason=f"invite #{row['id']}"):
            raise UserError("membership.role_failed")
        used = await repo.use_invite(self.app.db, guild_id=guild_id, invite_id=row["id"], user_id=user_id, at=now)
        if used is None:  # someone took the last seat (or it was revoked) in between: undo the role
            await self.roster.take_member_roles(guild_id, user_id, reason="invite no longer valid")
            self._refuse_if_dead(await repo.get_invite(self.app.db, guild_id, row["id"]))
            raise UserError("membership.code_used_up")
        # the wrong codes of the window still count after a success (else a good multi-use code
        # would buy endless guesses: join, leave, guess again)
        await self.roster.welcome(guild_id, user_id, used["event_id"])
        await self.app.events.emit("member.joined", guild_id=guild_id, user_id=user_id, via="invite")
        if used["tier"]:
            await self.tiers.grant(guild_id, used["creator_id"], user_id, used["tier"], why="invite", audit=False)
        return JoinResult(user_id, "invite", True, inviter_id=used["creator_id"], tier=used["tier"])

    def _refuse_if_dead(self, row: dict) -> None:
        now = self.app.clock.now()
        if row["revoked_at"] is not None:
            raise UserError("membership.code_revoked")
        if row["expires_at"] <= now:
            raise UserError("membership.code_expired", date=discord_time(row["expires_at"], "D"))
        if row["uses"] >= row["max_uses"]:
            raise UserError("membership.code_used_up")

    async def _wrong_code(self, guild_id: int, user_id: int, wrong: "WrongCode") -> None:
        """Tell the moderators about a lockout or a community pause this guess caused, then refuse."""
        s = self.settings
        now = self.app.clock.now()
        if wrong.community == s.community_max_failed_attempts:  # this guess used the community's last one
            until = now + timedelta(minutes=s.attempt_window_minutes)
            await self.app.audit.note(
                guild_id, self.app.t("membership.guessing_paused_note", count=wrong.community,
                                     minutes=s.attempt_window_minutes, until=discord_time(until, "t")),
                dedupe_key=f"membership:guessing-paused:{guild_id}:{int(now.timestamp())}")
        if wrong.locked_until is not None:
            await self.app.audit.note(guild_id, self.app.t("membership.lockout_note", user=f"<@{user_id}>",
                                                           minutes=s.lockout_minutes),
                                      dedupe_key=f"membership:lockout:{guild_id}:{user_id}:{int(now.timestamp())}")
            raise UserError("membership.locked_out", until=discord_time(wrong.locked_until, "t"),
                            minutes=wait_minutes(wrong.locked_until - now))
        raise UserError("membership.code_wrong", left=max(0, s.max_failed_attempts - wrong.mine))


@dataclass(frozen=True)
class WrongCode:
    mine: int  # this member's wrong codes in the window, this one included
    community: int  # everyone's
    locked_until: datetime | None  # when this one locked the member out


def wait_minutes(delta: timedelta) -> int:
    """Whole minutes to wait, rounded up (never 0: "wait 0 minutes" reads as "try now")."""
    return max(1, math.ceil(delta.total_seconds() / 60))


def guess_refusal(now: datetime, locked_until: datetime | None, recent: list[datetime],
                  settings) -> UserError | None:
    """Whether a guess is refused before its code is even looked up: the member is locked out, or the
    community's budget of wrong codes for the window is spent (`recent`: the community's wrong codes
    in the window, newest first). The refusal says how long to wait."""
    if locked_until is not None and locked_until > now:
        return UserError("membership.locked_out", until=discord_time(locked_until, "t"),
                         minutes=wait_minutes(locked_until - now))
    budget = settings.community_max_failed_attempts
    if len(recent) >= budget:
        # room again when the oldest of the last `budget` wrong codes leaves the window
        until = recent[budget - 1] + timedelta(minutes=settings.attempt_window_minutes)
        if until > now:
            return UserError("membership.guessing_paused", until=discord_time(until, "t"),
                             minutes=wait_minutes(until - now))
    return None
