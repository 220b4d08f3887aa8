"""Every moderator action is recorded and posted to the mod-log."""
from __future__ import annotations

from bot.clock import Clock
from bot.db import Database
from bot.db import audit as repo

from typing import Callable

from .messages import OutMessage, Target
from .outbox import Outbox

AUTOMATIC = 0  # actor id of changes the bot's own rules made (daily tier review, expiry ...)


class AuditService:
    def __init__(self, db: Database, clock: Clock, outbox: Outbox, mod_log_key: str,
                 t: Callable[..., str]) -> None:
        self.db = db
        self.clock = clock
        self.outbox = outbox
        self.mod_log_key = mod_log_key
        self.t = t

    async def record(self, guild_id: int, actor_id: int, action: str, target: str | None = None,
                     detail: str = "") -> int:
        entry_id = await repo.record(self.db, guild_id=guild_id, actor_id=actor_id, action=action,
                                     target=target, detail=detail, at=self.clock.now())
        actor = self.t("core.audit_automatic") if actor_id == AUTOMATIC else f"<@{actor_id}>"
        line = self.t("core.audit_line", actor=actor, action=action,
                      target=f" → {target}" if target else "", detail=f": {detail}" if detail else "")
        await self.outbox.post(guild_id, Target.channel(self.mod_log_key), OutMessage(content=line[:2000]),
                               dedupe_key=f"audit:{entry_id}")
        return entry_id

    async def note(self, guild_id: int, text: str, *, dedupe_key: str) -> None:
        """A line for moderators that is not a moderator action (e.g. a skipped scheduled post)."""
        await self.outbox.post(guild_id, Target.channel(self.mod_log_key), OutMessage(content=text[:2000]),
                               dedupe_key=dedupe_key)

    async def get(self, guild_id: int, entry_id: int) -> dict | None:
        return await repo.get(self.db, guild_id, entry_id)

    async def recent(self, guild_id: int, limit: int = 50) -> list[dict]:
        return await repo.recent(self.db, guild_id, limit)

    async def search(self, guild_id: int, *, actor_id: int | None = None, action: str | None = None,
                     since=None, until=None, limit: int = 200) -> list[dict]:
        """Entries matching every filter given, newest first (the dashboard's audit log)."""
        return await repo.search(self.db, guild_id, actor_id=actor_id, action=action or None, since=since,
                                 until=until, limit=limit)

    async def filter_choices(self, guild_id: int) -> tuple[list[str], list[int]]:
        return await repo.actions_and_actors(self.db, guild_id)
