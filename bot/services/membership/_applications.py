"""Approval mode: applications, the moderators' decision (made once), cooldowns and expiry."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.db import membership as repo
from bot.errors import UserError
from bot.services.messages import Button, OutMessage, Target
from bot.services.safety import relay

from ._results import Application, Decision, discord_time
from ._roster import Roster

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

APPROVE_ID = "kizuna:app:approve:{id}"
DENY_ID = "kizuna:app:deny:{id}"
TIMER_PREFIX = "membership:app-expire:"
CARD_PREFIX = "membership:queue:"  # outbox dedupe key of an application's card in the mod queue
CLOSED_SUFFIX = ":closed"  # ...and of its greyed-out version (<CARD_PREFIX><id><CLOSED_SUFFIX>)


Answer = str | list[str] | bool | None  # text, the chosen option value(s), or a ticked box


def stored_answers(questions, answers: dict[str, Answer], *, accepted: str) -> list[dict]:
    """The answers as stored and shown to moderators, one per question in order: `answer` is the text
    they read (typed text, the chosen options' labels, or `accepted`), `values` what was picked
    (option values; ["yes"] for a ticked box). Refuses what the form should not have let through:
    a missing required answer, an option the question does not have, an unticked accept box."""
    out = []
    for q in questions:
        given = answers.get(q.key)
        values: list[str] = []
        if q.kind == "text":
            text = (given if isinstance(given, str) else "").strip()[: q.max_length]
        elif q.kind == "accept":
            if given is not True:
                raise UserError("membership.must_accept", question=q.label)
            text, values = accepted, ["yes"]
        else:
            values = [given] if isinstance(given, str) else list(given or [])
            values = [v for v in dict.fromkeys(values) if v]
            unknown = [v for v in values if q.option_label(v) is None]
            if unknown:
                raise UserError("membership.answer_not_an_option", question=q.label, answer=unknown[0][:100])
            low, high = (1 if q.required else 0, 1) if q.kind == "single_choice" else q.choice_range
            if values and not low <= len(values) <= high:
                raise UserError("membership.answer_choice_count", question=q.label, min=low, max=high)
            text = ", ".join(q.option_label(v) for v in values)
        if q.required and not text:
            raise UserError("membership.answer_missing", question=q.label)
        out.append({"key": q.key, "label": q.label, "kind": q.kind, "answer": text, "values": values})
    return out


class Applications:
    def __init__(self, app: "App", roster: Roster) -> None:
        self.app = app
        self.roster = roster

    @property
    def settings(self):
        return self.app.config.community.membership

    async def start(self) -> None:
        for row in await repo.all_pending(self.app.db):
            self._arm(row["id"], row["expires_at"])
        await self._repair_cards()
        for row in await repo.closed_with_live_card(self.app.db, CARD_PREFIX, CLOSED_SUFFIX):
            await self._close_card(Application.from_row(row))

    async def _repair_cards(self) -> None:
        """Queue the card of every pending application an older version stored without one (it died
        in between): otherwise nobody can decide it and the applicant cannot reapply until it expires."""
        rows = await repo.pending_without_card(self.app.db, CARD_PREFIX)
        if not rows:
            return
        async with self.app.db.transaction() as tx:
            for row in rows:
                await self._queue_card(tx, Application.from_row(row))
        log.warning("queued the missing queue card of %d pending application(s)", len(rows))
        self.app.outbox.wake()

    async def _queue_card(self, tx, application: Application) -> None:
        await self.app.outbox.post_in(tx, application.guild_id,
                                      Target.channel(self.app.config.community.moderation.mod_queue),
                                      self.queue_message(application),
                                      dedupe_key=f"{CARD_PREFIX}{application.id}")

    def _arm(self, application_id: int, when: datetime) -> None:
        async def fire(_: datetime) -> None:
            await self.expire(application_id)

        self.app.scheduler.add_timer(f"{TIMER_PREFIX}{application_id}", when, fire)

    async def check_can_apply(self, guild_id: int, user_id: int) -> None:
        if await self.roster.is_member(guild_id, user_id):
            raise UserError("membership.already_member")
        pending = await repo.pending_application(self.app.db, guild_id, user_id)
        if pending is not None:
            raise UserError("membership.application_pending", id=pending["id"])
        denied = await repo.last_denial(self.app.db, guild_id, user_id)
        if denied is not None and self.settings.reapply_cooldown_days:
            again = denied["decided_at"] + timedelta(days=self.settings.reapply_cooldown_days)
            if again > self.app.clock.now():
                raise UserError("membership.reapply_cooldown", date=discord_time(again, "D"))

    async def submit(self, guild_id: int, user_id: int, answers: dict[str, Answer]) -> Application:
        """Store the application and post it to the moderators' queue with Approve / Deny buttons."""
        await self.check_can_apply(guild_id, user_id)
        stored = stored_answers(self.settings.questions, answers, accepted=self.app.t("membership.answer_accepted"))
        now = self.app.clock.now()
        # the application and its queue card are one transaction: a crash leaves both or neither
        async with self.app.db.transaction() as tx:
            row = await repo.create_application(tx, guild_id=guild_id, user_id=user_id, answers=stored, at=now,
                                                expires_at=now + timedelta(days=self.settings.application_expiry_days))
            application = None if row is None else Application.from_row(row)
            if application is not None:
                await self._queue_card(tx, application)
        if application is None:  # a second submit raced the first
            raise UserError("membership.application_pending", id="?")
        self.app.outbox.wake()
        self._arm(application.id, application.expires_at)
        return application

    def queue_message(self, application: Application) -> OutMessage:
        """The application's card in the mod queue. Once it can no longer be decided (expired, or the
        applicant left) the same card is edited in place (`replaces`): the outcome at the bottom and the
        buttons greyed out, as a closed quiz question's are."""
        t = self.app.t
        closed = application.status != "pending"
        return OutMessage(
            content=t("membership.queue_new", user=f"<@{application.user_id}>", id=application.id),
            embeds=(self.queue_embed(application),),
            buttons=(Button(t("membership.approve_button"), APPROVE_ID.format(id=application.id), "success",
                            disabled=closed),
                     Button(t("membership.deny_button"), DENY_ID.format(id=application.id), "danger",
                            disabled=closed)),
            replaces=f"{CARD_PREFIX}{application.id}" if closed else None,
        )

    async def _close_card(self, application: Application) -> None:
        """Grey out the card of an application nobody decided (once: its dedupe key)."""
        await self.app.outbox.post(application.guild_id, Target.channel(self.app.config.community.moderation.mod_queue),
                                   self.queue_message(application),
                                   dedupe_key=f"{CARD_PREFIX}{application.id}{CLOSED_SUFFIX}")

    def queue_embed(self, application: Application) -> dict:
        """The application as moderators see it; after a decision the outcome is added at the bottom."""
        t = self.app.t
        fields = [{"name": a["label"][:256], "value": (relay(a["answer"]) or "—")[:1024], "inline": False}
                  for a in application.answers]
        description = (t("membership.queue_description", user=f"<@{application.user_id}>",
                         expires=discord_time(application.expires_at, "R")) if application.status == "pending"
                       else t("membership.queue_description_closed", user=f"<@{application.user_id}>"))
        embed = {
            "title": t("membership.queue_title", id=application.id)[:256],
            "description": description[:4096],
            "fields": fields,
        }
        if application.status != "pending":
            embed["footer"] = {"text": self.outcome_line(application)[:2048]}
        return embed

    def outcome_line(self, application: Application) -> str:
        """Plain text (footers do not render mentions)."""
        return self.app.t(f"membership.outcome_{application.status}", id=application.id,
                          reason=application.reason or "—")

    async def get(self, application_id: int) -> Application:
        row = await repo.get_application(self.app.db, application_id)
        if row is None:
            raise UserError("membership.application_not_found", id=application_id)
        return Application.from_row(row)

    async def _decide(self, application_id: int, moderator_id: int, status: str, reason: str | None) -> Application:
        row = await repo.decide_application(self.app.db, application_id, status=status, by=moderator_id,
                                            at=self.app.clock.now(), reason=reason)
        if row is None:
            current = await self.get(application_id)
            if current.decided_by:
                raise UserError("membership.already_decided", id=application_id, by=f"<@{current.decided_by}>",
                                outcome=self.app.t(f"membership.status_{current.status}"))
            raise UserError("membership.already_closed", id=application_id,
                            outcome=self.app.t(f"membership.status_{current.status}"))
        self.app.scheduler.remove_job(f"{TIMER_PREFIX}{application_id}")
        return Application.from_row(row)

    async def approve(self, application_id: int, moderator_id: int) -> Decision:
        application = await self._decide(application_id, moderator_id, "approved", None)
        guild_id, user_id = application.guild_id, application.user_id
        roles_ok = await self.roster.give_member_role(guild_id, user_id, reason=f"application #{application_id}")
        event_id = await repo.record_join(self.app.db, guild_id=guild_id, user_id=user_id, via="approval",
                                          at=self.app.clock.now(), application_id=application_id, actor_id=moderator_id)
        await self.roster.dm(guild_id, user_id, self.app.t("membership.approved_dm", user=f"<@{user_id}>",
                                                          rules=self.settings.rules),
                             dedupe_key=f"membership:app-outcome:{application_id}")
        await self.roster.welcome(guild_id, user_id, event_id)
        await self.app.audit.record(guild_id, moderator_id, "application.approve", f"<@{user_id}>",
                                    f"#{application_id}" + ("" if roles_ok else " (member role could not be given)"))
        await self.app.events.emit("member.joined", guild_id=guild_id, user_id=user_id, via="approval")
        return Decision(application, approved=True, roles_ok=roles_ok)

    async def deny(self, application_id: int, moderator_id: int, reason: str) -> Decision:
        reason = reason.strip()
        if not reason:
            raise UserError("membership.reason_needed")
        application = await self._decide(application_id, moderator_id, "denied", reason[:1000])
        guild_id, user_id = application.guild_id, application.user_id
        again = application.decided_at + timedelta(days=self.settings.reapply_cooldown_days)
        await self.roster.dm(guild_id, user_id, self.app.t("membership.denied_dm", reason=application.reason,
                                                          date=discord_time(again, "D")),
                             dedupe_key=f"membership:app-outcome:{application_id}")
        await self.app.audit.record(guild_id, moderator_id, "application.deny", f"<@{user_id}>",
                                    f"#{application_id}: {application.reason}")
        return Decision(application, approved=False)

    async def expire(self, application_id: int) -> Application | None:
        """Close a pending application whose time is up (timer or daily sweep, whichever is first)."""
        now = self.app.clock.now()
        row = await repo.decide_application(self.app.db, application_id, status="expired", by=None, at=now,
                                            only_expired_by=now)
        if row is None:
            return None
        application = Application.from_row(row)
        await self._close_card(application)
        await self.roster.dm(application.guild_id, application.user_id,
                             self.app.t("membership.expired_dm", days=self.settings.application_expiry_days),
                             dedupe_key=f"membership:app-outcome:{application_id}")
        await self.app.audit.note(application.guild_id, self.app.t("membership.expired_note", id=application_id,
                                                                   user=f"<@{application.user_id}>"),
                                  dedupe_key=f"membership:app-expired:{application_id}")
        return application

    async def expire_due(self) -> int:
        expired = 0
        for row in await repo.due_applications(self.app.db, self.app.clock.now()):
            if await self.expire(row["id"]) is not None:
                expired += 1
        return expired

    async def withdraw(self, guild_id: int, user_id: int) -> Application | None:
        """The applicant left the server: their pending application is withdrawn."""
        pending = await repo.pending_application(self.app.db, guild_id, user_id)
        if pending is None:
            return None
        row = await repo.decide_application(self.app.db, pending["id"], status="withdrawn", by=None,
                                            at=self.app.clock.now(), reason="left the server")
        if row is None:
            return None
        self.app.scheduler.remove_job(f"{TIMER_PREFIX}{pending['id']}")
        await self._close_card(Application.from_row(row))
        await self.app.audit.note(guild_id, self.app.t("membership.withdrawn_note", id=pending["id"],
                                                       user=f"<@{user_id}>"),
                                  dedupe_key=f"membership:app-withdrawn:{pending['id']}")
        return Application.from_row(row)

    async def list(self, guild_id: int, status: str | None = "pending") -> list[Application]:
        return [Application.from_row(r) for r in await repo.list_applications(self.app.db, guild_id, status)]
