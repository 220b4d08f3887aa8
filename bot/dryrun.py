"""A dry run of every message the config can make the bot send, checked against Discord's spec.

`python -m bot check` calls `dry_run(config)` after the files load. It renders, through the code the bot
runs (the catalogue's `Catalogue.format`, `ScheduleService.render`, the prompt, quiz, drop and content
message builders, the cogs' modal classes), with the widest values each placeholder can take at
runtime, and validates each payload — shaped by discord.py exactly as it would be sent — with
`bot.offline.spec.Spec` (Discord's OpenAPI document plus the limits it does not state: 2000 characters
of content, 6000 over all embeds). A problem names the template's file:line and the limit.

What is rendered
- every catalogue key (and every `messages:` override) in each language asked for, in the place the bot
  puts it (`SLOTS`: message content, embed title/footer/field, button label, modal title, input label,
  select placeholder or option, thread name, command description, context menu name); placeholders
  filled by `worst_params`: 32-character names, 100-character channel/role/tier/category names, 10-digit
  numbers, 32-character dates, and the config's own text where a message includes it (`CONFIG_PARAMS`:
  rules, purpose, tier names and descriptions, the longest AMA topic). Other free text (what a member
  types, data that grows at runtime) renders empty: its room is kept where it is relayed (the AMA answer
  modal's max_length is the room its question leaves) or truncated by the builder;
- each schedule's post (its text/embed, or every item of its pool) on the day whose date renders widest;
- each prompt and the longest suggestion members may send, each quiz question with its buttons (open and
  closed), each drop announcement (open, sold out, closed), each content reveal and teaser, a post as
  the persona;
- the modals: feedback (with its category select), decline, AMA question and answer (for a
  500-character question), membership application, invite code and deny;
- (issue 20) each free-text quiz question's answer modal, and the cards (components v2) that grow with
  the community at their fullest: /leaderboard and the quiz results with `leaderboard.size` rows
  (spec.py adds Discord's components-v2 rules: 40 components, 4000 characters of text displays).
Payloads already validated are remembered (`_problems`): a second run costs ~0.1 s.
"""
from __future__ import annotations

import asyncio
import dataclasses
import fnmatch
import re
import string
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

import discord
from discord.http import handle_message_parameters

from bot.config.prompts import POLL_ANSWER_MAX, POLL_QUESTION_MAX
from bot.config.yamlsrc import load_source
from bot.services.catalogue import Catalogue, spec_problem
from bot.services.messages import OutMessage
from bot.ui import message_kwargs, view_from_buttons

from bot.offline.spec import Spec, discord_limits

NO_PINGS = discord.AllowedMentions.none()
MESSAGE_ROUTE = ("POST", "/channels/{channel_id}/messages")
CALLBACK_ROUTE = ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
WEBHOOK_ROUTE = ("POST", "/webhooks/{webhook_id}/{webhook_token}")
THREAD_ROUTE = ("POST", "/channels/{channel_id}/messages/{message_id}/threads")
EVENT_ROUTE = ("POST", "/guilds/{guild_id}/scheduled-events")
SNOWFLAKE = 99999999999999999999  # 20 digits: the widest id a mention can hold

# --- worst-case values --------------------------------------------------------------------------------
NAME_WIDTH = 32        # usernames and display names
CHANNEL_WIDTH = 100    # channel, role, tier and category names
DATE_WIDTH = 32        # a formatted date or time, or a Discord timestamp
NUMBER = 9_999_999_999  # 10 digits
_PEOPLE = {"actor", "answerer", "author", "by", "creator", "guest", "member", "moderator", "name", "user"}
_WIDE_NAMES = {"bank", "category", "channel", "role", "tier"}
_DATES = {"date", "end", "expires", "first", "last", "next", "now", "relative", "since", "start", "timezone",
          "until", "when"}
_NUMBERS = {"active", "added", "answered", "answers", "assigned", "author_id", "best", "changed", "claimed",
            "correct", "count", "created", "current", "day", "days", "down", "entrants", "failed", "have",
            "held", "id", "joined", "left", "length", "limit", "max", "max_uses", "members", "messages", "min",
            "minutes", "month", "need", "net", "new", "number", "old", "participants", "participations",
            "pending", "points", "posters", "posts", "quota", "rank", "ranked", "released", "remaining",
            "removed", "right", "round", "run", "runs", "seconds", "seed", "sent", "stock", "tickets", "total",
            "ts", "unanswered", "up", "upvotes", "uses", "votes", "wait", "waiting", "week", "winners", "year"}


def worst_value(name: str) -> Any:
    """The widest value placeholder `name` takes at runtime (text a member types or a config field
    brings renders empty: its room is checked where it is relayed)."""
    if name in _NUMBERS:
        return NUMBER
    if name in _PEOPLE:
        return "W" * NAME_WIDTH
    if name in _WIDE_NAMES:
        return "W" * CHANNEL_WIDTH
    if name in _DATES:
        return "9" * DATE_WIDTH
    return ""


def _longest(values: Iterable[str]) -> str:
    return max(values, key=len, default="")


def _tier_names(config) -> str:
    return _longest(t.name for t in config.community.tiers)


def _ama_topic(config) -> str:
    from bot.services.ama import MAX_TOPIC
    return "T" * MAX_TOPIC


# Placeholders filled from the config (or a bounded member text) in particular messages: the widest
# value the config allows there, so a long `membership.rules` or tier description is measured too.
CONFIG_PARAMS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "membership.welcome_dm": lambda c: {"rules": c.community.membership.rules},
    "membership.rules_prompt": lambda c: {"rules": c.community.membership.rules},
    "membership.welcome_post": lambda c: {"purpose": c.community.info.purpose},
    "membership.tier_up_dm": lambda c: {"tier": _tier_names(c),
                                        "description": _longest(t.description for t in c.community.tiers)},
    "membership.tier_down_dm": lambda c: {"old": _tier_names(c), "tier": _tier_names(c)},
    "membership.tier_lost_dm": lambda c: {"old": _tier_names(c)},
    "ama.opened_post": lambda c: {"topic": _ama_topic(c)},
    "ama.summary_title": lambda c: {"topic": _ama_topic(c)},
    "participation.poll_intro": lambda c: {"question": "Q" * POLL_QUESTION_MAX},
    "participation.poll_results_title": lambda c: {"question": "Q" * POLL_QUESTION_MAX},
    "participation.poll_results_line": lambda c: {"answer": "A" * POLL_ANSWER_MAX, "bar": "█" * 10},
    "participation.poll_results_winner": lambda c: {"answer": "A" * POLL_ANSWER_MAX},
}


def worst_params(template: str, key: str | None = None, config=None) -> dict[str, Any]:
    out = {}
    for _, field, _, _ in string.Formatter().parse(template):
        if field is None:
            continue
        name = field.split(".")[0].split("[")[0]
        if name and name not in ("community", "persona"):
            out[name] = worst_value(name)
    if key in CONFIG_PARAMS and config is not None:
        out.update({k: v for k, v in CONFIG_PARAMS[key](config).items() if k in out})
    return out


# --- where each catalogue key goes ----------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    what: str    # for messages: "a modal title"
    limit: int   # Discord's limit, for the message (the payload check is the authority)
    build: Callable[[str], tuple[tuple[str, str], Any]]  # text -> ((method, route), body)


def _message(content: str = "", embeds: Iterable[dict] = (), buttons=()) -> tuple[tuple[str, str], Any]:
    params = handle_message_parameters(content=content or None,
                                       embeds=[discord.Embed.from_dict(dict(e)) for e in embeds],
                                       view=view_from_buttons(tuple(buttons)) or discord.utils.MISSING,
                                       allowed_mentions=NO_PINGS)
    return MESSAGE_ROUTE, params.payload


def message_body(message: OutMessage) -> tuple[tuple[str, str], Any]:
    """The request discord.py makes for an OutMessage (what `DiscordSender.send` passes to it)."""
    if message.card is not None or message.poll:  # a card or a native poll: bot.ui.message_kwargs, as the sender sends it
        params = handle_message_parameters(**message_kwargs(message), allowed_mentions=NO_PINGS)
        return MESSAGE_ROUTE, params.payload
    return _message(message.content, message.embeds, message.buttons)


def modal_body(modal: discord.ui.Modal) -> tuple[tuple[str, str], Any]:
    return CALLBACK_ROUTE, {"type": discord.InteractionResponseType.modal.value, "data": modal.to_dict()}


def _modal(title: str = "Title", *items: discord.ui.Item) -> tuple[tuple[str, str], Any]:
    modal = discord.ui.Modal(title=title)
    for item in items or (discord.ui.TextInput(label="Text", custom_id="text"),):
        modal.add_item(item)
    return modal_body(modal)


def _button(label: str):
    from bot.services.messages import Button
    return _message("x", buttons=(Button(label=label, custom_id="kizuna:dryrun"),))


def _scheduled_event(**fields) -> tuple[tuple[str, str], Any]:
    """The body discord.py sends to create an external scheduled event (bot/discord_ports.py)."""
    body = {"name": "x", "privacy_level": discord.PrivacyLevel.guild_only.value,
            "scheduled_start_time": "2028-01-01T00:00:00+00:00", "scheduled_end_time": "2028-01-01T01:00:00+00:00",
            "entity_type": discord.EntityType.external.value, "entity_metadata": {"location": "x"}}
    return EVENT_ROUTE, body | fields


def _select(**option) -> discord.ui.Label:
    option = {"label": "x", "value": "x"} | option
    return discord.ui.Label(text="x", component=discord.ui.Select(custom_id="s", options=[discord.SelectOption(**option)]))


SLOT_KINDS: dict[str, Slot] = {
    "content": Slot("message content", 2000, lambda s: _message(s)),
    "embed.title": Slot("an embed title", 256, lambda s: _message(embeds=[{"title": s}])),
    "embed.description": Slot("an embed description", 4096, lambda s: _message(embeds=[{"description": s}])),
    "embed.footer": Slot("an embed footer", 2048, lambda s: _message(embeds=[{"title": "x", "footer": {"text": s}}])),
    "field.name": Slot("an embed field name", 256, lambda s: _message(embeds=[{"fields": [{"name": s, "value": "x"}]}])),
    "field.value": Slot("an embed field value", 1024, lambda s: _message(embeds=[{"fields": [{"name": "x", "value": s}]}])),
    "button": Slot("a button label", 80, _button),
    "modal.title": Slot("a modal title", 45, lambda s: _modal(s)),
    "input.label": Slot("a modal field label", 45, lambda s: _modal(
        "x", discord.ui.Label(text=s, component=discord.ui.TextInput(custom_id="t")))),
    "input.placeholder": Slot("a text field placeholder", 100, lambda s: _modal(
        "x", discord.ui.Label(text="x", component=discord.ui.TextInput(custom_id="t", placeholder=s)))),
    "label.description": Slot("a modal field description", 100, lambda s: _modal(
        "x", discord.ui.Label(text="x", description=s, component=discord.ui.TextInput(custom_id="t")))),
    "select.placeholder": Slot("a select placeholder", 150, lambda s: _modal("x", discord.ui.Label(
        text="x", component=discord.ui.Select(custom_id="s", placeholder=s, options=[discord.SelectOption(label="x")])))),
    "option.label": Slot("a select option", 100, lambda s: _modal("x", _select(label=s))),
    "thread.name": Slot("a thread name", 100, lambda s: (THREAD_ROUTE, {"name": s})),
    "automod.block": Slot("an AutoMod block message", 300, lambda s: (AUTOMOD_ROUTE, {
        "name": "x", "event_type": 1, "trigger_type": 1, "trigger_metadata": {"keyword_filter": ["x"]},
        "actions": [{"type": 1, "metadata": {"custom_message": s}}]})),
    "event.name": Slot("a scheduled event name", 100, lambda s: _scheduled_event(name=s)),
    "event.description": Slot("a scheduled event description", 1000, lambda s: _scheduled_event(description=s)),
}

# catalogue key (fnmatch pattern) -> slot kind; everything else is message content. Kept next to the
# call sites' shapes: a test renders every cog modal and feature message through the real code too.
SLOTS: dict[str, str] = {
    "membership.invite_choice": "choice",
    "*_title": "embed.title",   # the default for titles; modals are listed below
    "stats.title": "content", "stats.top_title": "content",
    "membership.application_title": "modal.title", "membership.code_title": "modal.title",
    "membership.deny_title": "modal.title", "feedback.modal_title": "modal.title",
    "feedback.decline_title": "modal.title", "ama.ask_modal_title": "modal.title",
    "ama.answer_modal_title": "modal.title", "ama.answer_modal_label": "input.label",
    "ama.questions_title": "content", "feedback.history_title": "field.name",
    "membership.code_label": "input.label", "membership.deny_reason_label": "input.label",
    "ama.ask_modal_label": "input.label", "feedback.decline_reason": "input.label",
    "feedback.modal_category": "input.label", "feedback.modal_title_label": "input.label",
    "feedback.modal_text": "input.label", "feedback.modal_anonymous": "input.label",
    "feedback.modal_anonymous_description": "label.description",
    "ama.ask_modal_placeholder": "input.placeholder", "feedback.modal_title_placeholder": "input.placeholder",
    "feedback.modal_text_placeholder": "input.placeholder",
    "feedback.modal_category_placeholder": "select.placeholder",
    "feedback.anonymous_*": "option.label", "feedback.category_*": "option.label",
    "*_button": "button", "feedback.button_*": "button", "drops.button_*": "button",
    "participation.approve": "button", "participation.reject": "button",
    "feedback.status_*": "field.value", "feedback.status_changed": "content",
    "feedback.anonymous_author": "field.value", "feedback.anonymous_for_mods": "field.value",
    "ama.summary_title": "content", "drops.announce_title": "content",
    "participation.prompt_footer": "embed.footer", "admin.notice_footer": "embed.footer",
    "content.footer": "embed.footer",
    "*_name": "field.name", "participation.suggestion_from": "field.name", "admin.notice_from": "field.name",
    "admin.notice_acked_by": "field.name", "feedback.field_*": "field.name", "feedback.digest_by_*": "field.name",
    "feedback.digest_top": "field.name", "feedback.digest_oldest": "field.name",
    "feedback.digest_reactions": "field.name", "membership.info_mode": "field.name",
    "membership.info_members": "field.name", "membership.info_tiers": "field.name",
    "participation.quiz_reveal_count": "field.value", "feedback.digest_reactions_line": "field.value",
    "participation.prompt_thread": "thread.name", "ama.thread_name": "thread.name",
    "feedback.menu_name": "menu",
    "feedback.modal_screenshot": "input.label", "feedback.modal_screenshot_description": "label.description",
    "feedback.screenshot_for_mods": "field.value", "membership.answer_accepted": "field.value",
    "automod.block_message": "automod.block",
    "support.menu_name": "menu", "support.ask_*_label": "input.label",
    "support.promote_*_label": "input.label", "support.*_modal": "modal.title",
    "support.ask_*_placeholder": "input.placeholder", "support.chart_*": "embed.title",
    "participation.poll_results_title": "content",
    "ama.event_name": "event.name", "ama.event_description": "event.description",
    "participation.quiz_modal_title": "modal.title", "participation.quiz_modal_label": "input.label",
}
_COMMAND_SLOTS = {"command": ("a command description", 100), "menu": ("a context menu name", 32),
                  "choice": ("an autocomplete choice", 100)}


def slot_of(key: str) -> str:
    """The kind of place the bot puts catalogue key `key` (exact entries win over patterns)."""
    if key.startswith("commands."):
        return "menu" if key.startswith("commands.menu:") else "command"
    if key in SLOTS:
        return SLOTS[key]
    area, name = key.split(".", 1)
    for pattern, kind in SLOTS.items():
        if "*" in pattern and (fnmatch.fnmatchcase(key, pattern) or fnmatch.fnmatchcase(name, pattern)):
            return kind
    return "content"


# --- problems -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    field: str
    message: str
    groupable: bool = False  # a feature's message: the same refusal for many items is one line

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


@lru_cache(maxsize=64)
def _locale_lines(language: str, area: str) -> tuple[str, Any]:
    from importlib import resources
    path = Path(str(resources.files("bot") / "locales" / language / f"{area}.yaml"))
    return str(path), load_source(path)


class DryRun:
    def __init__(self, config, spec: Spec | None = None) -> None:
        self.config = config
        self.spec = spec or Spec.load()
        self.problems: list[Problem] = []
        self.validated = 0  # payloads checked (the tests make sure everything went through)

    # -- reporting --
    def config_line(self, attr: str, loc: tuple) -> tuple[str, int]:
        source = self.config.sources.get(attr)
        if source is None:
            return str(Path(self.config.dir) / f"{attr}.yaml"), 1
        return str(source.path), source.line_of(loc)

    def catalogue_line(self, language: str, key: str) -> tuple[str, int]:
        overrides = self.config.community.messages or {}
        if key in overrides:
            return self.config_line("community", ("messages", key))
        area, name = key.split(".", 1)
        path, source = _locale_lines(language, area)
        return path, source.line_of((name,))

    def validate(self, route: tuple[str, str], body: Any, where: tuple[str, int], field: str, what: str) -> bool:
        self.validated += 1
        problems = _problems(self.spec, route, body)
        for p in problems:
            self.problems.append(Problem(where[0], where[1], field, f"{what}: Discord would refuse it: {p}", True))
        return not problems

    # -- the catalogue --
    def catalogue(self, language: str) -> Catalogue:
        c = self.config.community
        return Catalogue(language, community_name=c.info.name, persona=c.persona, overrides=c.messages)

    def check_catalogue(self, languages: Iterable[str]) -> None:
        for language in languages:
            catalogue = self.catalogue(language)
            for key in sorted(catalogue.templates):
                self.check_key(catalogue, key)

    def check_key(self, catalogue: Catalogue, key: str) -> None:
        language = catalogue.language
        where = self.catalogue_line(language, key)
        overridden = key in (self.config.community.messages or {})
        field = f"messages.{key}" if overridden else f"{key} ({language})"
        template = catalogue.templates[key]
        try:
            problem = None
            for _, name, spec, _ in string.Formatter().parse(template):
                if name is not None and (problem := spec_problem(spec or "")):
                    break
            if problem:
                raise ValueError(problem)
            text = catalogue.format(key, **worst_params(template, key, self.config))
        except (KeyError, AttributeError, IndexError, ValueError, TypeError) as exc:
            self.problems.append(Problem(*where, field, f"cannot be rendered: {exc}"))
            return
        kind = slot_of(key)
        if kind in _COMMAND_SLOTS:
            what, limit = _COMMAND_SLOTS[kind]
            text = text.strip()
            if not 1 <= len(text) <= limit:
                self.problems.append(Problem(*where, field, f"{what} is {len(text)} characters with the widest"
                                             f" values; Discord takes 1 to {limit}"))
            return
        slot = SLOT_KINDS[kind]
        self.validated += 1
        memo = (id(self.spec), kind, text)
        problems = _SLOT_MEMO.get(memo)
        if problems is None:  # building the payload is most of the cost: once per distinct text
            if len(_SLOT_MEMO) > 20_000:
                _SLOT_MEMO.clear()
            route, body = slot.build(text)
            problems = _problems(self.spec, route, body)
            if not self.spec.available and len(text) > slot.limit:
                problems = [f"{len(text)} characters; the limit is {slot.limit}"]
            _SLOT_MEMO[memo] = problems
        if problems and len(text) > slot.limit:
            self.problems.append(Problem(*where, field, f"{slot.what} of {len(text)} characters with the widest"
                                                        f" values; Discord allows {slot.limit}"))
            return
        for p in problems:
            self.problems.append(Problem(*where, field, f"as {slot.what}, Discord would refuse it: {p}"))

    # -- what the config makes the bot send, through the bot's own code --
    async def check_features(self, language: str) -> None:
        from bot.app import App
        from bot.clock import FakeClock

        with tempfile.TemporaryDirectory(prefix="kizuna-dryrun-") as tmp:
            app = await App.open(self.config, db_path=Path(tmp) / "dryrun.db",
                                 clock=FakeClock(datetime(2028, 1, 1, tzinfo=timezone.utc)), real_scheduler=False)
            try:
                app.catalogue = self.catalogue(language)
                for check in (self._persona, self._schedules, self._prompts, self._quizzes, self._drops,
                              self._content, self._modals, self._automod, self._polls, self._cards):
                    check(app)
            finally:
                await app.db.close()

    def _persona(self, app) -> None:
        """A post as the persona: its name and avatar on the webhook execute request."""
        persona = self.config.community.persona
        if not persona.use_webhook:
            return
        params = handle_message_parameters(content="x", username=persona.name, allowed_mentions=NO_PINGS,
                                           avatar_url=str(persona.avatar_url) if persona.avatar_url else discord.utils.MISSING)
        self.validate(WEBHOOK_ROUTE, params.payload, self.config_line("community", ("persona",)), "persona",
                      "a post as the persona (webhook)")

    def _schedules(self, app) -> None:
        from bot.triggers import local_to_utc

        service = app.schedules
        model = self.config.schedules
        default_tz = model.default_timezone(self.config)
        wall = _widest_day(app)
        for i, schedule in enumerate(model.schedules):
            when = local_to_utc(wall, schedule.zone(default_tz))
            if schedule.pool:
                pool = model.pools.get(schedule.pool)
                for j in range(len(pool.items) if pool else 0):
                    self._post(service, schedule, when, j, ("pools", schedule.pool, "items", j),
                               f"pools.{schedule.pool}.items[{j}] (posted by {schedule.id})")
            elif schedule.text or schedule.embed:
                self._post(service, schedule, when, None, ("schedules", i), f"schedules[{i}] ({schedule.id})")

    def _post(self, service, schedule, when, item, loc, field) -> None:
        try:
            rendered = service.render(schedule, when, item)
        except (KeyError, AttributeError, IndexError, ValueError, TypeError) as exc:
            self.problems.append(Problem(*self.config_line("schedules", loc), field, f"cannot be rendered: {exc}"))
            return
        if rendered is None:
            return
        route, body = message_body(service._message(rendered))
        self.validate(route, body, self.config_line("schedules", loc), field, "the post, with the widest date")

    def _prompts(self, app) -> None:
        from bot.services.participation.prompts import PoolPrompt

        prompts = self.config.prompts
        participation = app.participation
        when = app.clock.now()
        for i, p in enumerate(prompts.prompts):
            if p.kind == "poll":
                continue  # a Discord poll: see _polls
            message = participation.prompts._message(
                PoolPrompt(p.id, p.text, str(p.image_url) if p.image_url else None, p.tags, suggested_by=SNOWFLAKE), when)
            where = self.config_line("prompts", ("prompts", i))
            route, body = message_body(message)
            if self.validate(route, body, where, f"prompts[{i}]", "the daily prompt post"):
                self.validate(THREAD_ROUTE, {"name": message.thread_name}, where, f"prompts[{i}]", "its answer thread")
        # an approved /prompt suggest joins the pool: the longest one a member may send
        longest = participation.prompts.settings.suggestion_max_length
        message = participation.prompts._message(PoolPrompt("s-1", "s" * longest, suggested_by=SNOWFLAKE), when)
        route, body = message_body(message)
        self.validate(route, body, self.config_line("participation", ("prompts", "suggestion_max_length")),
                      "prompts.suggestion_max_length", f"a daily prompt from a {longest}-character suggestion")

    def _polls(self, app) -> None:
        """Every poll the config can post (a `kind: poll` prompt, `poll.post` params), as the message
        discord.py sends: the question, the answers, the duration."""
        from bot.services.participation.polls import Poll

        now = app.clock.now()

        def check(question, answers, duration, multiselect, where, field) -> None:
            poll = Poll(NUMBER, 1, "dryrun", question, tuple(answers), multiselect, "x", None, None, None, now,
                        now + duration, "open", None)
            route, body = message_body(app.participation.polls.message(poll))
            self.validate(route, body, where, field, "the poll")

        for i, p in enumerate(self.config.prompts.prompts):
            if p.kind == "poll":
                check(p.text, p.answers, p.poll_duration, p.multiselect, self.config_line("prompts", ("prompts", i)),
                      f"prompts[{i}]")
        for i, schedule in enumerate(self.config.schedules.schedules):
            if schedule.action == "poll.post":
                params = schedule.action_params()
                if params.question is not None:
                    check(params.question, params.answers, params.duration or timedelta(hours=24),
                          params.multiselect, self.config_line("schedules", ("schedules", i, "params")),
                          f"schedules[{i}].params ({schedule.id})")

    def _quizzes(self, app) -> None:
        participation = app.participation
        closes = app.clock.now() + timedelta(days=3650)
        for stem, bank in self.config.quizzes.items():
            total = len(bank.questions)
            for i, q in enumerate(bank.questions):
                snapshot = {"question": q.question, "choices": list(q.choices), "answer": q.answer_index,
                            "answers": list(q.answers), "explanation": q.explanation,
                            "image_url": str(q.image_url) if q.image_url else None}
                run = {"id": NUMBER, "bank": stem, "guild_id": 1, "channel": "x"}
                question = {"id": NUMBER, "position": i + 1, "closes_at": closes, "snapshot": _json(snapshot)}
                where = self.config_line(f"quizzes:{stem}", ("questions", i))
                for closed in (False, True):
                    route, body = message_body(participation.quiz._question_message(run, question, total, closed=closed))
                    if not self.validate(route, body, where, f"quizzes/{stem}.questions[{i}]",
                                         "the question with its buttons"):
                        break
                if q.free_text:  # the modal members type into (its placeholder shows the question)
                    from cogs.participation._quiz import QuizAnswerModal

                    route, body = modal_body(QuizAnswerModal(app, NUMBER, i + 1, q.question))
                    self.validate(route, body, where, f"quizzes/{stem}.questions[{i}]", "the answer modal")

    def _drops(self, app) -> None:
        drops = self.config.drops
        service = app.drops
        now = app.clock.now()
        for i, spec in enumerate(drops.drops):
            row = {"id": NUMBER, "opens_at": now, "closes_at": now + timedelta(days=1)}
            where = self.config_line("drops", ("drops", i))
            for variant in ({}, {"sold_out": True}, {"closed": True}):
                route, body = message_body(service.announcement(spec, row, **variant))
                if not self.validate(route, body, where, f"drops[{i}] ({spec.id})", "the drop announcement"):
                    break

    def _content(self, app) -> None:
        content = self.config.content
        service = app.content
        for i, item in enumerate(content.content):
            where = self.config_line("content", ("content", i))
            route, body = message_body(service.render(item))
            self.validate(route, body, where, f"content[{i}] ({item.id})", "the reveal")
            if item.teaser is not None:
                route, body = message_body(OutMessage(content=item.teaser.text))
                self.validate(route, body, where, f"content[{i}].teaser", "the teaser")

    def _ama_answer(self, app):
        """The answer modal for the longest question (its room is the modal's max_length), after
        checking that a post with an answer that long fits."""
        from cogs.ama._views import AnswerModal

        question = _longest_question()
        room = app.ama.room_for_answer(question, SNOWFLAKE)
        where = self.catalogue_line(app.catalogue.language, "ama.answer_post")
        field = "ama.answer_post" if "ama.answer_post" not in (self.config.community.messages or {}) \
            else "messages.ama.answer_post"
        if room < 1:
            self.problems.append(Problem(*where, field, "a 500-character question leaves the answer no room"
                                                        " in Discord's 2000 characters"))
        else:
            route, body = message_body(OutMessage(content=app.ama._answer_post(question, SNOWFLAKE, "a" * room)))
            self.validate(route, body, where, field, f"an answer post with the {room} characters the modal allows")
        return AnswerModal(app, NUMBER, room)

    def _modals(self, app) -> None:
        from cogs.ama._views import AskModal
        from cogs.feedback._views import DeclineModal, FeedbackModal
        from cogs.membership._views import ApplicationModal, CodeModal, DenyModal

        builders = {"the /feedback send modal": lambda: FeedbackModal(app),
                    "the feedback decline modal": lambda: DeclineModal(app, NUMBER),
                    "the AMA question modal": lambda: AskModal(app, NUMBER),
                    "the membership application modal": lambda: ApplicationModal(app),
                    "the invite code modal": lambda: CodeModal(app),
                    "the application deny modal": lambda: DenyModal(app, NUMBER),
                    "the AMA answer modal": lambda: self._ama_answer(app)}
        for what, build in builders.items():
            route, body = modal_body(build())
            loc = ("feedback",) if "feedback" in what else ("membership", "questions") if "application" in what else ()
            self.validate(route, body, self.config_line("community", loc), "modals", what)


    def _automod(self, app) -> None:
        """The AutoMod rule /setup creates (and a reload sends again), with the widest ids."""
        spec = app.automod.desired()
        if spec is None:
            return
        self.validate(AUTOMOD_ROUTE, automod_rule_body(spec), self.config_line("community", ("moderation", "automod")),
                      "moderation.automod", "the AutoMod rule /setup creates")

    # -- cards (components v2, issue 20) --
    def _cards(self, app) -> None:
        """The cards that grow with the community, at their fullest: the leaderboard and the quiz
        results with `leaderboard.size` rows of the widest values (Discord: 4000 characters over all the
        text displays of a message, 40 components)."""
        from types import SimpleNamespace

        from cogs.participation._leaderboard import leaderboard_card

        size = self.config.participation.leaderboard.size
        templates = app.catalogue.templates

        def widest(key: str, **given: Any) -> str:
            return app.t(key, **(worst_params(templates[key], key, self.config) | given))

        rows = [SimpleNamespace(rank=NUMBER, user_id=SNOWFLAKE + i, points=NUMBER) for i in range(size)]
        avatars = {row.user_id: f"https://cdn.discordapp.com/avatars/{row.user_id}/{'f' * 32}.png" for row in rows}
        key = "participation.leaderboard_line"
        for period in ("week", "month", "all"):
            route, body = message_body(OutMessage(card=leaderboard_card(app.t, period, rows, avatars)))
            if not self.validate(route, body, self.catalogue_line(app.catalogue.language, key), key,
                                 f"the /leaderboard card with {size} rows (participation.yaml leaderboard.size)"):
                break
        key = "participation.quiz_results_line"
        ranking = "\n".join([widest("participation.quiz_ended_early")] + [widest(key, user=f"<@{SNOWFLAKE}>")] * size)
        banks = sorted(self.config.quizzes, key=lambda k: -len(self.config.quizzes[k].name or k)) or ["x"]
        card = app.participation.quiz._results_card({"bank": banks[0]}, ranking)
        route, body = message_body(OutMessage(card=card, as_persona=True))
        self.validate(route, body, self.catalogue_line(app.catalogue.language, key), key,
                      f"the quiz results card with {size} rows (participation.yaml leaderboard.size)")


AUTOMOD_ROUTE = ("POST", "/guilds/{guild_id}/auto-moderation/rules")


def automod_rule_body(spec) -> dict[str, Any]:
    """The create-rule request body exactly as discord.py shapes it (Guild.create_automod_rule), from the
    arguments /setup passes (cogs/automod/_sync.rule_arguments)."""
    from cogs.automod._sync import rule_arguments

    args = rule_arguments(spec, SNOWFLAKE, [discord.Object(SNOWFLAKE - i) for i in range(len(spec.exempt_roles))],
                          [discord.Object(SNOWFLAKE - 100 - i) for i in range(len(spec.exempt_channels))])
    body = {"name": args["name"], "event_type": args["event_type"].value, "trigger_type": args["trigger"].type.value,
            "trigger_metadata": args["trigger"].to_metadata_dict() or None,
            "actions": [a.to_dict() for a in args["actions"]], "enabled": args["enabled"],
            "exempt_roles": [str(r.id) for r in args["exempt_roles"]] or None,
            "exempt_channels": [str(c.id) for c in args["exempt_channels"]] or None}
    return {k: v for k, v in body.items() if v is not None}


def automod_rule_problems(config, *, keywords: list[str] | None = None, spec: Spec | None = None) -> list[str]:
    """Spec problems of the rule `config` asks for (`keywords` replaces its keywords: tests)."""
    from types import SimpleNamespace

    from bot.services.automod import AutoModService

    catalogue = DryRun(config, spec).catalogue(config.community.info.language)
    wanted = AutoModService(SimpleNamespace(config=config, t=catalogue.format)).desired()
    if wanted is None:
        return []
    if keywords is not None:
        wanted = dataclasses.replace(wanted, keywords=tuple(keywords))
    return _problems(spec or Spec.load(), AUTOMOD_ROUTE, automod_rule_body(wanted))


_MEMO: dict[tuple[int, tuple[str, str], str], list[str]] = {}
_SLOT_MEMO: dict[tuple[int, str, str], list[str]] = {}
_RANDOM_ID = re.compile(r'"custom_id": "[0-9a-f]{32}"')


def _problems(spec: Spec, route: tuple[str, str], body: Any) -> list[str]:
    """`spec.problems`, remembered by body: a config edit changes few messages, and a reload or a test
    suite dry-runs the same unchanged ones again (validating one costs about 1-10 ms)."""
    import json

    text = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    # discord.py gives a modal (and any item without one) a random custom_id: the same shape every time
    key = (id(spec), route, _RANDOM_ID.sub('"custom_id": "?"', text))
    found = _MEMO.get(key)
    if found is None:
        if len(_MEMO) > 20_000:
            _MEMO.clear()
        if spec.available:
            found = spec.problems(route[0], route[1], body)
        else:  # without the document, at least the limits Discord states nowhere in it
            found = list(discord_limits(route[0], route[1], body))
        _MEMO[key] = found
    return found


def _longest_question():
    from bot.services.ama import MAX_QUESTION, Question

    text = "\n".join(["?"] * (MAX_QUESTION // 2))[:MAX_QUESTION]  # every line quoted: "> ?"
    return Question(id=NUMBER, session_id=NUMBER, author_id=SNOWFLAKE, text=text, asked_at=datetime(2028, 1, 1),
                    votes=NUMBER, answer=None,
                    answered_by=None, answered_at=None)


def _json(data: Any) -> str:
    import json
    return json.dumps(data, ensure_ascii=False)


def _widest_day(app) -> datetime:
    """The wall-clock day whose `{date}` and `{weekday}` render widest in this language (23:59)."""
    best, width = datetime(2028, 1, 1, 23, 59), -1
    day = best
    t = app.t
    weekdays = [w.strip() for w in t("schedules.weekdays").split(",")]
    months = [m.strip() for m in t("schedules.months").split(",")]
    for _ in range(366):
        text = t("schedules.date", year=day.year, month=day.month, day=day.day, month_name=months[day.month - 1],
                 weekday=weekdays[day.weekday()])
        if len(text) + len(weekdays[day.weekday()]) > width:
            best, width = day, len(text) + len(weekdays[day.weekday()])
        day += timedelta(days=1)
    return best


def dry_run(config, *, languages: Iterable[str] | None = None, spec: Spec | None = None) -> list[Problem]:
    """Every problem a message the config can make would have at Discord, in `languages` (default: the
    community's), each once. Runs its own event loop (from async code: `await dry_run_async(...)`)."""
    return asyncio.run(dry_run_async(config, languages=languages, spec=spec))


async def dry_run_async(config, *, languages: Iterable[str] | None = None, spec: Spec | None = None) -> list[Problem]:
    languages = tuple(languages or (config.community.info.language,))
    run = DryRun(config, spec)
    run.check_catalogue(languages)
    for language in languages:
        await run.check_features(language)
    return _unique(run.problems)


async def problems_off_loop(config) -> list[str]:
    """`dry_run` in a worker thread (its own loop there), as file:line lines: for a reload inside the
    running bot, whose event loop must not stall while ~500 payloads are validated."""
    return await asyncio.to_thread(lambda: [str(p) for p in dry_run(config)])


def _unique(problems: list[Problem]) -> list[Problem]:
    """Each problem once; the same refusal of many items of one file (a too-long catalogue title in
    every prompt) as one line naming the first and counting the others."""
    groups: dict[tuple[str, str], list[Problem]] = {}
    for p in dict.fromkeys(problems):
        groups.setdefault((p.path, p.message) if p.groupable else (p.path, p.field, p.message), []).append(p)
    out = []
    for same in groups.values():
        first = same[0]
        if len(same) > 1:
            first = Problem(first.path, first.line, first.field,
                            f"{first.message} (the same for {len(same) - 1} more: "
                            f"{', '.join(p.field for p in same[1:4])}{', ...' if len(same) > 4 else ''})")
        out.append(first)
    return out
