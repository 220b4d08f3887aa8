"""The offline playground: act as any member of a fake server running the real bot, in a terminal.

Lines are slash commands (`/admin audit limit:5`, `/feedback send`) or `:` commands (`:help`). A script
(`--script FILE`) runs the same lines without a terminal and prints the transcript, each input echoed
as `user> line`.
"""
from __future__ import annotations

import re
import shlex
import tempfile
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import discord

from bot.config.base import parse_duration as config_duration

from . import modal_inputs
from .harness import Harness, HarnessError
from .http import HarnessGap, Reply
from .spec import SpecViolation
from .world import FakeMessage

HELP = """\
  /command opt:value opt2:"quoted value"   run a slash command as the current user
  :as NAME                 act as another user (:users lists them)
  :say CHANNEL TEXT        post in a channel or thread (e.g. :say lounge hello;
                           a name with spaces: :say "Answers · 2026-12-02" my answer)
  :click N|LABEL [#ID]     click a button on the last message with buttons (or message #ID,
                           the ids :read and :dms show)
  :menu "NAME" #ID|USER    a right-click (context menu) command on a message or a member,
                           e.g. :menu "Send as feedback" #ID
  :pick 1,2 [#ID]          choose options (by number or label) in the last select menu
  :modal f=v f2="v 2"      submit the open modal; in a script, `field: value` lines after the
                           command that opened it do the same
  :react EMOJI [#ID]       react to the last message shown
  :post FORUM "TITLE" [Tag, Tag] TEXT   open a post in a forum (e.g. :post help "Late parcel"
                           [Orders & shipping] It has not arrived); :read FORUM lists its posts and tags
  :in CHANNEL /command      run a slash command inside a channel or post (:in "Late parcel" /help solved)
  :vote ANSWER [#ID]       vote in the last poll shown (answer text or number); :unvote takes it back
  :interested [N]          press Interested on the last scheduled event shown (or event N of :events);
                           :uninterested takes it back
  :events                  the server's scheduled events
  :wait 1d | 2h30m | 45m   move the clock forward (scheduled things happen)
  :read CHANNEL [N]        the last N messages of a channel or thread, with their #IDs (default 10)
  :dms [NAME]              the bot's DMs to a user (default: you)
  :web [NAME]              a one-time sign-in link to the dashboard for NAME (default: you;
                           start the playground with --web)
  :channels  :users  :commands  :time  :help  :quit
  Attachments the bot sends (CSV exports, charts) are saved to a folder; their path is shown."""

DEFAULT_FILES_DIR = Path(tempfile.gettempdir()) / "kizuna-playground-files"
FIELD_LINE = re.compile(r"^\s*([^:/#\s][^:]*?)\s*:\s?(.*)$")


def session_start(config, day: date = date(2026, 12, 1), lead: timedelta = timedelta(minutes=5)) -> datetime:
    """When a playground session starts: a few minutes before the first scheduled post of its first
    day (so day 1's prompt and greeting go out on the first :wait), or 09:00 if nothing comes earlier."""
    from bot.triggers import occurrences

    tz = config.timezone
    day_start = datetime.combine(day, time(0, 0), tzinfo=tz)
    first = day_start + timedelta(hours=9)
    for schedule in config.schedules.schedules:
        if schedule.enabled:
            found = occurrences(schedule.trigger(tz.key), day_start, day_start + timedelta(days=1), limit=1)
            if found:
                first = min(first, found[0] - lead)
    return max(first, day_start).astimezone(timezone.utc)


def modal_input_hint(f: dict[str, Any]) -> list[str]:
    """How to answer a radio group, checkboxes, a checkbox or a file upload (bot/offline/modal_inputs.py):
    by an option's label or value, several separated by commas, yes/no, a file name or path."""
    kind = f.get("type")
    labels = ", ".join(o.get("label", "") for o in f.get("options") or [])
    if kind == modal_inputs.RADIO:
        return [f"choose one: {labels}"]
    if kind == modal_inputs.CHECKBOXES:
        low, high = f.get("min_values"), f.get("max_values")
        return [f"choose {low}-{high}, comma-separated: {labels}"]
    if kind == modal_inputs.CHECKBOX:
        return ["tick: yes or no"]
    if kind == modal_inputs.FILE_UPLOAD:
        return [f"upload up to {f.get('max_values') or 1}: a file path or name"]
    return []


def parse_duration(text: str) -> timedelta:
    """`:wait`'s argument, in the config files' duration grammar (bot/config/base.py)."""
    return config_duration(text)


class Playground:
    def __init__(self, harness: Harness, *, user: str = "mod", out: Callable[[str], None] = print,
                 files_dir: str | Path | None = None) -> None:
        self.g = harness
        self.files_dir = Path(files_dir) if files_dir else DEFAULT_FILES_DIR
        self.saved: dict[tuple[int, str], Path] = {}
        self.user = user
        self.out = out
        self.render_ids = harness.world.describe_ids()
        self.seen: set[int] = set(harness.world.messages)
        self.versions: dict[int, int] = {mid: len(m.history) for mid, m in harness.world.messages.items()}
        self.last_with_buttons: FakeMessage | None = None
        self.last_with_select: FakeMessage | None = None
        self.last_shown: FakeMessage | None = None
        self.modal_answers: dict[str, str] | None = None  # script mode: `field: value` lines being collected
        self.last_with_poll: FakeMessage | None = None
        self.events_seen: dict[int, tuple] = {  # scheduled event id -> what was shown of it last
            e.id: (e.status, e.location, e.channel_id, len(e.interested)) for e in harness.scheduled_events}
        self.last_event: int | None = None
        self.scripted = False
        self.web = None  # the dashboard (bot.offline.oauth.OfflineDashboard) with --web

    # --- running lines -------------------------------------------------------------------------------
    async def run_script(self, lines: Iterable[str]) -> None:
        self.scripted = True
        for raw in lines:
            line = raw.rstrip("\n")
            if self.modal_answers is not None:
                m = FIELD_LINE.match(line)
                if m and line.strip() and not line.lstrip().startswith((":", "/")):
                    self.out(f"{self.user}> {line}")
                    self.modal_answers[m.group(1)] = m.group(2)
                    continue
                await self._submit_collected()
            if not await self.run_line(line):
                return
        if self.modal_answers is not None:
            await self._submit_collected()

    async def run_line(self, line: str) -> bool:
        """Run one line; False when the session should end."""
        text = line.strip()
        if not text:
            return True
        if text.startswith("#"):
            self.out(text)
            return True
        self.out(f"{self.user}> {text}")
        try:
            if text.startswith("/"):
                await self.slash(text)
            elif text.startswith(":"):
                if not await self.command(text):
                    return False
            else:
                self.out("  ? lines are /commands or :commands (:help)")
        except (HarnessError, HarnessGap, KeyError, ValueError) as exc:
            self.out(f"  ! {_message(exc)}")
        except SpecViolation as exc:
            self.out(f"  ! Discord would reject the bot's request: {exc}")
        except discord.Forbidden as exc:
            self.out(f"  ! Discord refused: {exc.text or exc} (code {exc.code})")
        except discord.HTTPException as exc:
            self.out(f"  ! Discord error: {exc}")
        self.show_new_activity()
        return True

    async def slash(self, text: str, where: str | None = None) -> None:
        tokens = shlex.split(text[1:])
        path: list[str] = []
        options: dict[str, Any] = {}
        for tok in tokens:
            if ":" in tok and not tok.startswith(("<", "@")):
                name, _, value = tok.partition(":")
                options[name] = value
            elif options:
                raise ValueError(f"{tok!r}: options are written name:value")
            else:
                path.append(tok)
        reply = await self.g.slash("/" + " ".join(path), user=self.user, options=options, where=where)
        await self.show_reply(reply)

    async def command(self, text: str) -> bool:
        name, _, rest = text[1:].partition(" ")
        rest = rest.strip()
        g = self.g
        if name in ("quit", "exit", "q"):
            return False
        if name == "help":
            self.out(HELP)
            self.out("  commands: " + ", ".join(g.command_names()))
        elif name == "as":
            g.user_id(rest)
            self.user = rest
            self.out(f"  (now acting as {rest}: {', '.join(sorted(g.member(rest).roles)) or 'no roles'})"
                     if rest in g.world.names and g.world.names[rest] in g.world.members else f"  (now acting as {rest})")
        elif name == "say":
            channel, message = self._channel_and_rest(rest)
            msg = await g.say(channel, message, user=self.user)
            self.seen.add(msg.id)
            self.last_shown = msg
        elif name == "post":
            await self._post(rest)
        elif name == "in":  # a slash command used inside a channel, thread or forum post
            channel, command = self._channel_and_rest(rest)
            if not command.startswith("/"):
                raise HarnessError(':in CHANNEL /command, e.g. :in "My question" /help solved')
            await self.slash(command, where=channel)
        elif name == "click":
            target, msg = self._target(rest, self.last_with_buttons, "buttons")
            if target.isdigit():
                reply = await g.click(on=msg, user=self.user, index=int(target))
            else:
                reply = await g.click(target, on=msg, user=self.user)
            await self.show_reply(reply)
        elif name == "pick":
            target, msg = self._target(rest, self.last_with_select, "a select menu")
            select = msg.selects[0]
            options = select.get("options") or []
            values = []
            for part in [p.strip() for p in target.split(",") if p.strip()]:
                if part.isdigit() and options:
                    values.append(options[int(part) - 1]["value"])
                else:
                    values.append(part)
            reply = await g.select(values, on=msg, user=self.user)
            await self.show_reply(reply)
        elif name == "modal":
            values = {}
            for tok in shlex.split(rest):
                key, _, value = tok.partition("=")
                values[key] = value
            reply = await g.submit_modal(self._completed(values), user=self.user)
            self.modal_answers = None
            await self.show_reply(reply)
        elif name == "react":
            emoji, _, ref = rest.partition(" ")
            msg = self._message_ref(ref) if ref else self.last_shown
            if msg is None:
                raise HarnessError("no message to react to (:read a channel first)")
            await g.react(msg, emoji, user=self.user)
            self.out(f"  (reacted {emoji} to #{msg.id})")
        elif name in ("vote", "unvote"):
            answer, msg = self._target(rest, self.last_with_poll, "a poll")
            if not answer:
                raise HarnessError(":vote ANSWER [#ID]: the answer's text or number")
            await g.vote(msg, int(answer) if answer.isdigit() else answer, user=self.user, add=name == "vote")
            self.out(f"  ({'voted' if name == 'vote' else 'took back the vote for'} {answer!r} in #{msg.id})")
        elif name in ("interested", "uninterested"):
            events = g.scheduled_events
            if rest:
                event = events[int(rest) - 1] if rest.isdigit() and int(rest) <= len(events) else None
            else:
                event = g.world.scheduled_events.get(self.last_event or 0)
            if event is None:
                raise HarnessError("no such scheduled event (:events lists them)")
            await g.interested(event, user=self.user, add=name == "interested")
            self.out(f"  ({'interested in' if name == 'interested' else 'no longer interested in'} {event.name})")
        elif name == "events":
            if not g.scheduled_events:
                self.out("  (no scheduled events)")
            for i, event in enumerate(g.scheduled_events, start=1):
                self.show_event(event, header=f"{i}.")
        elif name == "wait":
            delta = parse_duration(rest)
            await g.advance(delta)
            self.out(f"  (time is now {self._time(g.clock.now())})")
        elif name == "time":
            self.out(f"  {self._time(g.clock.now())}")
        elif name == "read":
            channel, count = self._channel_and_rest(rest)
            if count and not count.isdigit():
                raise HarnessError(f"{count!r}: :read CHANNEL [N] takes a number of messages")
            ch = g.channel(channel)
            if not g.can(self.user, "view_channel", ch):
                raise HarnessError(f"{self.user} cannot see #{ch.key or ch.name}")
            msgs = ch.messages[-int(count or 10):]
            if ch.is_forum:  # a forum: its posts, with their tags
                for post in ch.threads[-int(count or 10):]:
                    self.out(f"  🗂 {post.name}{self._tags(post)}")
                if not ch.threads:
                    self.out(f"  (#{ch.key or ch.name} has no posts)")
                return True
            if not msgs:
                self.out(f"  (#{ch.key or ch.name} is empty)")
            for m in msgs:
                self.show_message(m, header=f"#{m.id} [#{ch.key or ch.name}]")
                self.seen.add(m.id)
        elif name == "dms":
            who = rest or self.user
            msgs = g.dms(who)
            if not msgs:
                self.out(f"  (no DMs to {who})")
            for m in msgs:
                self.show_message(m, header=f"#{m.id} [DM → {who}]")
                self.seen.add(m.id)
        elif name == "menu":
            await self._menu(rest)
        elif name == "channels":
            for ch in g.world.guild_channels():
                can_see = g.can(self.user, "view_channel", ch)
                can_post = g.can(self.user, "send_messages", ch)
                mark = "post" if can_post else ("read" if can_see else "hidden")
                self.out(f"  #{ch.key or ch.name:<16} {mark:<6} {ch.topic}")
        elif name == "users":
            for uname, uid in g.world.names.items():
                member = g.world.members.get(uid)
                roles = ", ".join(sorted(member.roles)) if member else "(not in the server)"
                self.out(f"  {'*' if uname == self.user else ' '} {uname:<8} {roles}")
        elif name == "web":
            if self.web is None:
                raise HarnessError("the dashboard is off: start the playground with --web")
            who = rest or self.user
            self.out(f"  one-time sign-in link for {who}: {self.web.sign_in_link(who)}")
        elif name == "commands":
            for c in g.command_names():
                self.out(f"  {c}")
        else:
            self.out(f"  ? unknown :{name} (:help)")
        return True

    # --- forums ----------------------------------------------------------------------------------------
    async def _post(self, rest: str) -> None:
        """:post FORUM "TITLE" [Tag, Tag] TEXT"""
        forum, after = self._channel_and_rest(rest)
        m = re.fullmatch(r'\s*"([^"]+)"\s*(?:\[([^\]]*)\])?\s*(.*)', after, re.S)
        if m is None:
            raise HarnessError(':post FORUM "TITLE" [Tag, Tag] TEXT')
        tags = [t.strip() for t in (m.group(2) or "").split(",") if t.strip()]
        post = await self.g.forum_post(forum, m.group(1), m.group(3) or m.group(1), user=self.user, tags=tags)
        if post.starter is not None:
            self.seen.add(post.starter.id)
        self.out(f"  (posted “{post.name}” in #{forum}{self._tags(post)})")

    @staticmethod
    def _tags(channel) -> str:
        return f" · tags: {', '.join(channel.tags)}" if channel.is_forum_post and channel.tags else ""

    async def _submit_collected(self) -> None:
        answers, self.modal_answers = self.modal_answers, None
        try:
            reply = await self.g.submit_modal(self._completed(answers or {}), user=self.user)
        except (HarnessError, KeyError, ValueError) as exc:
            self.out(f"  ! {_message(exc)}")
            return
        await self.show_reply(reply)
        self.show_new_activity()

    def _completed(self, answers: dict[str, str]) -> dict[str, str]:
        """The answers plus the values the form came pre-filled with (Discord submits those as they
        are). Required fields left out are named (Discord's client would not let the member press
        Submit), instead of whatever the first missing field's own check would say."""
        modal = self.g.modal_for(self.user)
        if modal is None:
            return answers
        given = {str(k).lower() for k in answers}
        out, missing = dict(answers), []
        for f in self.g.modal_fields(modal):
            if {str(f.get("custom_id", "")).lower(), str(f.get("label", "")).lower()} & given:
                continue
            if f.get("value"):
                out[f["custom_id"]] = f["value"]
            elif f.get("required", True):
                missing.append(f)
        if not missing:
            return out
        labels = ", ".join(str(f.get("label")) for f in missing)
        how = ("write `field: value` lines right after the command that opened it" if self.scripted
               else 'use :modal field=value field2="value 2"')
        note = "the form was not filled in" if not answers else "the form is missing required fields"
        raise HarnessError(f"{note} ({labels}): {how}; the form is still open")

    def _channel_and_rest(self, rest: str) -> tuple[str, str]:
        """`"a name with spaces" rest`, `#name with spaces rest` (the longest name that exists), or
        `key rest`."""
        rest = rest.strip()
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            end = rest.find(quote, 1)
            if end < 0:
                raise HarnessError(f"no closing {quote} after the channel name")
            return rest[1:end].lstrip("#"), rest[end + 1:].strip()
        words = rest.split(" ")
        names = {c.key for c in self.g.world.channels.values() if c.key and not c.deleted}
        names |= {c.name for c in self.g.world.channels.values() if not c.deleted and not c.is_dm}
        for i in range(len(words), 1, -1):
            candidate = " ".join(words[:i]).lstrip("#")
            if candidate in names:
                return candidate, " ".join(words[i:]).strip()
        return words[0].lstrip("#"), " ".join(words[1:]).strip()

    async def _menu(self, rest: str) -> None:
        try:
            parts = shlex.split(rest)
        except ValueError as exc:
            raise HarnessError(f":menu \"NAME\" #ID|USER ({exc})") from None
        if len(parts) != 2:
            raise HarnessError(':menu takes a menu name and a target: :menu "Send as feedback" #ID')
        menu, target = parts
        if target.startswith("#") or target.isdigit():
            reply = await self.g.context_menu(menu, user=self.user, message=self._message_ref(target))
        else:
            reply = await self.g.context_menu(menu, user=self.user, target=target.lstrip("@"))
        await self.show_reply(reply)

    def _target(self, rest: str, default: FakeMessage | None, what: str) -> tuple[str, FakeMessage]:
        m = re.search(r"\s*#(\d+)\s*$", rest)
        msg = self._message_ref(m.group(1)) if m else default
        target = rest[: m.start()].strip() if m else rest.strip()
        if msg is None:
            raise HarnessError(f"no message with {what} yet")
        return target, msg

    def _message_ref(self, ref: str) -> FakeMessage:
        mid = int(ref.lstrip("#"))
        if mid not in self.g.world.messages:
            raise HarnessError(f"no message #{mid}")
        return self.g.world.messages[mid]

    # --- showing things ------------------------------------------------------------------------------
    async def show_reply(self, reply: Reply) -> None:
        if reply.modal is not None:
            self.show_modal(reply.modal)
            if self.scripted:
                self.modal_answers = {}
            else:
                await self.fill_modal_interactively(reply.modal)
            return
        if not reply.messages:
            self.out("  (no answer" + (": deferred" if reply.deferred else "") + ")")
        for m in reply.messages:
            self.show_message(m, header="(updated)" if reply.response_type == discord.InteractionResponseType.message_update.value
                              else "")
            self.seen.add(m.id)

    def show_modal(self, modal: dict[str, Any]) -> None:
        self.out(f"  ┏ form: {modal.get('title')}")
        for f in self.g.modal_fields(modal):
            extra = []
            if f.get("required", True):
                extra.append("required")
            if f.get("max_length"):
                extra.append(f"max {f['max_length']}")
            if f.get("type") == discord.ComponentType.string_select.value:
                extra.append("choose: " + ", ".join(o.get("label", "") for o in f.get("options") or []))
            extra += modal_input_hint(f)
            value = f" = {f['value']!r}" if f.get("value") else ""
            self.out(f"  ┃ {f.get('label')}{value} ({'; '.join(extra)})")
        self.out("  ┗ " + ("answer with `field: value` lines" if self.scripted else "fill it in below"))

    async def fill_modal_interactively(self, modal: dict[str, Any]) -> None:
        values = {}
        for f in self.g.modal_fields(modal):
            prompt = f"    {f.get('label')}" + (f" [{f['value']}]" if f.get("value") else "") + ": "
            answer = input(prompt)
            values[f["custom_id"]] = answer if answer or not f.get("value") else f["value"]
        try:
            reply = await self.g.submit_modal(values, user=self.user)
        except HarnessError as exc:
            self.out(f"  ! {exc}")
            return
        await self.show_reply(reply)

    def show_new_activity(self) -> None:
        """Messages that appeared anywhere since the last line (scheduled posts, DMs, mod-log...), and
        messages shown earlier that the bot edited since (a closed quiz question, a sold-out drop)."""
        w = self.g.world
        self.show_new_events()
        edited = [mid for mid in sorted(self.seen & set(w.messages))
                  if len(w.messages[mid].history) > self.versions.setdefault(mid, len(w.messages[mid].history))]
        for mid in edited + sorted(set(w.messages) - self.seen):
            m = w.messages[mid]
            self.seen.add(mid)
            if m.deleted or m.ephemeral:
                continue
            ch = m.channel
            if ch.is_dm:
                header = f"[DM → {w.users[ch.recipient_id].name}]"
            elif ch.is_thread:
                header = f"[{'post' if ch.is_forum_post else 'thread'} {ch.name}{self._tags(ch)}]"
            else:
                header = f"[#{ch.key or ch.name}]"
            self.show_message(m, header=header)

    def show_message(self, m: FakeMessage, *, header: str) -> None:
        w = self.g.world
        author = m.username or w.users[m.author_id].name
        tag = " (only you)" if m.ephemeral else ""
        if m.flags & 128:
            tag += " (thinking…)"
        edited = " (edited)" if m.edited_at else ""
        self.versions[m.id] = len(m.history)
        self.out(f"  {header + ' ' if header else ''}{author}{tag}{edited}:")
        for line in self._text(m.content).splitlines() or ([] if m.embeds or m.components else ["(empty)"]):
            self.out(f"    {line}")
        for e in m.embeds:
            self._embed(e)
        if m.is_layout:
            self._layout(m.components)
        for name, data in m.files:
            self.out(f"    📎 {name} ({len(data)} bytes) → {self._save(m, name, data)}")
        if m.poll is not None:
            self._poll(m)
        buttons = m.button_components
        if buttons:
            labels = []
            for i, b in enumerate(buttons, start=1):
                label = b.get("label") or (b.get("emoji") or {}).get("name") or "?"
                state = " (disabled)" if b.get("disabled") else (" ↗" if b.get("url") else "")
                labels.append(f"[{i} {label}{state}]")
            self.out("    " + " ".join(labels))
            self.last_with_buttons = m
        for s in m.selects:
            opts = s.get("options") or []
            listed = "  ".join(f"{i}) {o.get('label')}" for i, o in enumerate(opts, start=1))
            self.out(f"    ▾ {s.get('placeholder') or 'choose'}: {listed or '(pick users/roles/channels by name)'}")
            self.last_with_select = m
        if m.thread is not None:
            self.out(f"    🧵 thread: {m.thread.name}")
        if m.reactions:
            self.out("    " + "  ".join(f"{e} {len(u)}" for e, u in m.reactions.items() if u))
        self.last_shown = m

    def show_new_events(self) -> None:
        """Scheduled events that appeared or changed (status, place, who is interested) since the last line."""
        for event in self.g.scheduled_events:
            state = (event.status, event.location, event.channel_id, len(event.interested))
            if self.events_seen.get(event.id) != state:
                header = "📅 [event]" if event.id not in self.events_seen else "📅 [event updated]"
                self.events_seen[event.id] = state
                self.show_event(event, header=header)

    def show_event(self, event, *, header: str) -> None:
        where = event.location or (f"#{self.g.world.channels[event.channel_id].key or ''}" if event.channel_id else "")
        end = f" → {self._time(event.end)}" if event.end else ""
        self.out(f"  {header} {event.name} ({event.status_name}): {self._time(event.start)}{end}")
        if event.description:
            self.out(f"    {self._text(event.description)}")
        self.out(f"    at {where} · {len(event.interested)} interested  (:interested to press Interested)")
        self.last_event = event.id

    def _poll(self, m: FakeMessage) -> None:
        poll = m.poll
        state = "open until " + self._time(poll.expiry) if poll.open else "ended"
        self.out(f"    📊 {poll.question} ({state}{', several answers' if poll.multiselect else ''})")
        for i, answer in enumerate(poll.answers, start=1):
            self.out(f"    {i}) {answer}: {poll.count(i)}")
        self.last_with_poll = m

    def _save(self, m: FakeMessage, name: str, data: bytes) -> Path:
        """Save an attachment once (as `<message id>-<name>`) so it can be opened; its path."""
        key = (m.id, name)
        if key not in self.saved:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.files_dir / f"{m.id}-{Path(name).name}"
            path.write_bytes(data)
            self.saved[key] = path
        return self.saved[key]

    def _embed(self, e: dict[str, Any]) -> None:
        if e.get("author", {}).get("name") if isinstance(e.get("author"), dict) else False:
            self.out(f"    ┃ {e['author']['name']}")
        if e.get("title"):
            self.out(f"    ┏ {self._text(e['title'])}")
        for line in self._text(e.get("description") or "").splitlines():
            self.out(f"    ┃ {line}")
        for f in e.get("fields") or []:
            value = self._text(f.get("value") or "").replace("\n", "\n    ┃   ")
            self.out(f"    ┃ • {self._text(f.get('name') or '')}: {value}")
        if (e.get("footer") or {}).get("text"):
            self.out(f"    ┗ {self._text(e['footer']['text'])}")
        elif e.get("title") or e.get("description"):
            self.out("    ┗")

    # components v2 (issue 20): a layout as a reader sees it -- a box per container, each section's text
    # with its thumbnail noted beside, dividers as lines; its buttons are listed below as for any message
    def _layout(self, components: list[dict[str, Any]], depth: int = 0) -> None:
        CT = discord.ComponentType
        for c in components:
            kind = c.get("type")
            if kind == CT.container.value:
                self.out("    ╭" + ("─" * 40))
                self._layout(c.get("components") or [], depth + 1)
                self.out("    ╰" + ("─" * 40))
            elif kind == CT.section.value:
                self._layout(c.get("components") or [], depth)
                accessory = c.get("accessory") or {}
                if accessory.get("type") == CT.thumbnail.value:
                    self.out(f"    │   🖼  {(accessory.get('media') or {}).get('url')}")
            elif kind == CT.text_display.value:
                for line in self._text(c.get("content") or "").splitlines() or [""]:
                    self.out(f"    │ {line}")
            elif kind == CT.separator.value:
                self.out("    ├" + ("┄" * 40))
            elif kind == CT.media_gallery.value:
                for item in c.get("items") or []:
                    self.out(f"    │ 🖼  {(item.get('media') or {}).get('url')}")

    def _text(self, text: str) -> str:
        config = self.g.config
        return render_timestamps(self.render_ids(text or ""), self.g.clock.now(), config.timezone,
                                 config.community.info.language)

    def _time(self, when: datetime) -> str:
        tz = self.g.config.timezone
        local = when.astimezone(tz)
        return local.strftime("%Y-%m-%d %H:%M ") + str(tz)


# --- Discord timestamps, as a client set to the community's time zone and language shows them ---------------
TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")
_DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAYS_JA = "月火水木金土日"
# (seconds in the unit, en name, ja name); the largest unit that fits is used, rounded as clients do
_UNITS = ((365 * 86400, "year", "年"), (30 * 86400, "month", "か月"), (86400, "day", "日"), (3600, "hour", "時間"),
          (60, "minute", "分"), (1, "second", "秒"))


def render_timestamps(text: str, now: datetime, tz, language: str = "en") -> str:
    """Every `<t:UNIX:STYLE>` in `text` as Discord shows it to a reader in zone `tz` (the community's)
    and `language`: t 21:05 · T 21:05:30 · d 01/12/2026 · D 1 December 2026 · f (default) 1 December
    2026 21:05 · F Tuesday, 1 December 2026 21:05 · R in 20 seconds / 2 hours ago (from `now`, the
    fake clock). English is shown as a 24-hour (en-GB) client does, Japanese as a ja client does."""
    def one(m: re.Match) -> str:
        when = datetime.fromtimestamp(int(m.group(1)), tz=timezone.utc)
        style = m.group(2) or "f"
        if style == "R":
            return _relative((when - now).total_seconds(), language)
        local = when.astimezone(tz)
        ja = language == "ja"
        hm, hms = f"{local:%H:%M}", f"{local:%H:%M:%S}"
        day = (f"{local.year}年{local.month}月{local.day}日" if ja
               else f"{local.day} {_MONTHS_EN[local.month - 1]} {local.year}")
        return {
            "t": hm, "T": hms,
            "d": f"{local:%Y/%m/%d}" if ja else f"{local:%d/%m/%Y}",
            "D": day, "f": f"{day} {hm}",
            "F": (f"{day}{_DAYS_JA[local.weekday()]}曜日 {hm}" if ja
                  else f"{_DAYS_EN[local.weekday()]}, {day} {hm}"),
        }[style]

    return TIMESTAMP.sub(one, text)


def _relative(seconds: float, language: str) -> str:
    ja = language == "ja"
    if abs(seconds) < 0.5:
        return "今" if ja else "now"
    size, en, ja_unit = next(u for u in _UNITS if abs(seconds) >= u[0] or u[0] == 1)
    count = max(1, int(abs(seconds) / size + 0.5))
    if ja:
        return f"{count} {ja_unit}{'後' if seconds > 0 else '前'}"
    amount = f"{count} {en}{'' if count == 1 else 's'}"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


def install_completion(harness: Harness) -> None:
    """Tab completes slash command names, :commands, user names and channel keys."""
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return
    colon = [":as", ":say", ":post", ":in", ":click", ":menu", ":pick", ":modal", ":react", ":wait", ":read", ":dms", ":channels",
             ":users", ":commands", ":time", ":help", ":quit"]

    def candidates(buffer: str) -> list[str]:
        if buffer.startswith("/"):
            return [c + " " for c in harness.command_names()]
        words = buffer.split(" ")
        if len(words) > 1 and words[0] in (":as", ":dms"):
            return [f"{words[0]} {n}" for n in harness.world.names]
        if len(words) > 1 and words[0] in (":say", ":read"):
            return [f"{words[0]} {c.key or c.name} " for c in harness.world.guild_channels()]
        return colon

    def complete(text: str, state: int):
        # no delimiters: `text` is the whole line so far
        options = [c for c in candidates(text) if c.startswith(text)]
        return options[state] if state < len(options) else None

    readline.set_completer_delims("")
    readline.set_completer(complete)
    readline.parse_and_bind("tab: complete")
