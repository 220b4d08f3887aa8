"""What will happen over a period, without doing any of it: the timeline `python -m bot preview` prints.

The schedules' own timeline (`ScheduleService.timeline`), with each action-only entry told where it
posts and what (today's prompt, the quiz bank, the drop's item...), plus what other features time
themselves: content reveals (`content.yaml` `at:`, and their teasers) and drop windows
(`drops.yaml` `opens:`, one line per audience, and the close). Read-only: nothing is claimed or posted.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping

from bot.config.content import to_utc
from bot.db import content as content_repo
from bot.services.messages import OutMessage
from bot.services.schedules import TimelineEntry

if TYPE_CHECKING:
    from bot.app import App

DEFAULT_CHANNEL = {  # where each action posts when its params name no channel
    "prompt.post": lambda app: app.config.participation.prompts.channel,
    "quiz.start": lambda app: app.config.participation.quiz.channel,
    "feedback.digest": lambda app: app.config.community.feedback.channel,
    "stats.digest": lambda app: app.config.community.moderation.mod_log,
    "ama.announce": lambda app: "announcements",
    "poll.post": lambda app: app.config.participation.prompts.channel,
}


async def upcoming(app: "App", start: datetime, end: datetime, guild_id: int) -> list[TimelineEntry]:
    """Everything due in (start, end], in time order."""
    entries = await _with_action_targets(app, await app.schedules.timeline(start, end), guild_id)
    entries += _content_reveals(app, start, end)
    entries += _drop_windows(app, start, end)
    return sorted(entries, key=lambda e: e.when)


async def _with_action_targets(app: "App", entries: list[TimelineEntry], guild_id: int) -> list[TimelineEntry]:
    params = {s.id: dict(s.params or {}) for s in app.config.schedules.schedules}
    prompt_times = [e.when for e in entries if e.action == "prompt.post" and not e.paused]
    prompts = iter(await app.participation.prompts.upcoming(guild_id, prompt_times)
                   if prompt_times else [])
    out = []
    for e in entries:
        if e.action and not e.paused:
            channel, text = await _action_target(app, guild_id, e.action, params.get(e.schedule_id, {}),
                                                 next(prompts, None) if e.action == "prompt.post" else None)
            e = replace(e, channel=e.channel or channel, first_line=e.first_line or text)
        out.append(e)
    return out


async def _action_target(app: "App", guild_id: int, action: str, params: Mapping[str, Any],
                         prompt) -> tuple[str | None, str]:
    """(channel key, what it posts) for one action occurrence, as the action's handler decides them."""
    channel = params.get("channel")
    text = ""
    try:
        if action == "prompt.post":
            text = prompt.text if prompt is not None else "(the prompt pool is empty)"
        elif action == "quiz.start":
            bank = params.get("bank") or app.config.participation.quiz.bank or next(iter(sorted(app.config.quizzes)), "")
            text = f"quiz: {bank}" + (f", {params['questions']} questions" if params.get("questions") else "")
        elif action == "drop.open":
            spec = next(d for d in app.config.drops.drops if d.id == params.get("id"))
            channel, text = channel or spec.channel, spec.item
        elif action == "content.reveal":  # params {id}; without one, the first untimed item never revealed
            items = app.config.content.content
            if params.get("id"):
                item = next(c for c in items if c.id == params["id"])
            else:
                done = {r["content_id"] for r in await content_repo.reveals(app.db, guild_id)}
                item = next((c for c in items if c.at is None and c.id not in done), None)
            if item is None:
                text = "(nothing left to reveal)"
            else:
                channel, text = channel or item.channel, item.title or (item.text.splitlines() or [item.id])[0]
        elif action == "feedback.digest":
            text = f"feedback digest: the last {params.get('days', 7)} days"
        elif action == "stats.digest":
            text = f"stats digest: the past {params.get('period') or 'week'}"
        elif action == "ama.announce":
            text = str(params.get("topic") or "the next AMA")
        elif action == "poll.post":  # a poll prompt by key, or its own question
            key = params.get("prompt")
            text = "poll: " + str(next((p.text for p in app.config.prompts.prompts if p.key == key), None)
                                  or params.get("question") or key)
        if channel is None and action in DEFAULT_CHANNEL:
            channel = DEFAULT_CHANNEL[action](app)
    except (AttributeError, KeyError, StopIteration):  # that feature is not configured: the bare action
        pass
    return (str(channel) if channel else None), text


def _content_reveals(app: "App", start: datetime, end: datetime) -> list[TimelineEntry]:
    out = []
    for item in app.config.content.content:
        if item.at is None:
            continue
        when = to_utc(item.at, app.config.timezone)
        if not start < when <= end:
            continue
        title = item.title or (item.text.splitlines() or [""])[0]
        out.append(TimelineEntry(when, f"content:{item.id}", item.channel, title, "content reveal"))
        if item.teaser:
            out.append(TimelineEntry(when, f"content:{item.id}", item.teaser.channel, item.teaser.text,
                                     "content teaser"))
    return out


def _drop_windows(app: "App", start: datetime, end: datetime) -> list[TimelineEntry]:
    drops = app.drops
    out = []
    for spec in drops.specs:
        if spec.opens is None:
            continue
        opens_at = to_utc(spec.opens, app.config.timezone)
        for audience, when in drops.windows(spec, opens_at):
            if start < when <= end:
                out.append(TimelineEntry(when, f"drop:{spec.id}", spec.channel,
                                         f"{spec.item}: open for {audience}", "drop window"))
        if spec.closes_after and start < opens_at + spec.closes_after <= end:
            out.append(TimelineEntry(opens_at + spec.closes_after, f"drop:{spec.id}", spec.channel,
                                     f"{spec.item}: closes", "drop window"))
    return out


async def preview(app: "App", guild_id: int, entry_id: str, when: datetime) -> OutMessage | None:
    """The message the calendar entry `entry_id` (a schedule id, `content:<id>` or `drop:<id>`) will post
    at `when`, built by the code that builds the real one (what `check`'s dry run renders): a schedule's
    post with the pool item the timeline says, the day's prompt, a quiz's first question, a reveal, a
    drop's announcement. None when the entry posts nothing itself."""
    now = app.clock.now()
    since = min(now, when) - timedelta(microseconds=1)  # the timeline is (start, end]: `when` itself is in
    if entry_id.startswith("content:"):
        item = next((c for c in app.config.content.content if c.id == entry_id[8:]), None)
        return app.content.render(item) if item is not None else None
    if entry_id.startswith("drop:"):
        return _drop_post(app, entry_id[5:], when)
    schedule = app.schedules.model.by_id(entry_id)
    if schedule is None:
        return None
    if schedule.text or schedule.embed or schedule.pool:
        entry = next((e for e in await app.schedules.timeline(since, when)
                      if e.schedule_id == entry_id and e.when == when), None)
        rendered = app.schedules.render(schedule, when, entry.item if entry else None)
        if rendered is not None:
            return app.schedules._message(rendered)
    params = dict(schedule.params or {})
    if schedule.action == "prompt.post":
        times = [e.when for e in await app.schedules.timeline(since, when)
                 if e.action == "prompt.post" and not e.paused]
        prompts = await app.participation.prompts.upcoming(guild_id, times) if times else []
        prompt = prompts[-1] if prompts and times[-1] == when else None
        return app.participation.prompts._message(prompt, when) if prompt is not None else None
    if schedule.action == "drop.open":
        return _drop_post(app, str(params.get("id")), when)
    if schedule.action == "content.reveal" and params.get("id"):
        item = next((c for c in app.config.content.content if c.id == params["id"]), None)
        return app.content.render(item) if item is not None else None
    if schedule.action == "quiz.start":
        return _first_question(app, params, when)
    if schedule.action:
        channel, text = await _action_target(app, guild_id, schedule.action, params, None)
        return OutMessage(content=text) if text else None
    return None


def _drop_post(app: "App", key: str, when: datetime):
    spec = next((d for d in app.drops.specs if d.id == key), None)
    if spec is None:
        return None
    closes = when + (spec.closes_after or timedelta(days=1))
    return app.drops.announcement(spec, {"id": 0, "opens_at": when, "closes_at": closes})


def _first_question(app: "App", params: Mapping[str, Any], when: datetime):
    import json

    bank_key = params.get("bank") or app.config.participation.quiz.bank or next(iter(sorted(app.config.quizzes)), None)
    bank = app.config.quizzes.get(bank_key) if bank_key else None
    if bank is None or not bank.questions:
        return None
    q = bank.questions[0]
    snapshot = {"question": q.question, "choices": list(q.choices), "answer": q.answer,
                "explanation": q.explanation, "image_url": str(q.image_url) if q.image_url else None}
    total = min(len(bank.questions), int(params.get("questions") or len(bank.questions)))
    run = {"id": 0, "bank": bank_key, "guild_id": app.guild_id or 0, "channel": params.get("channel") or ""}
    question = {"id": 0, "position": 1, "closes_at": when + timedelta(seconds=app.config.participation.quiz.seconds),
                "snapshot": json.dumps(snapshot, ensure_ascii=False)}
    return app.participation.quiz._question_message(run, question, total, closed=False)
