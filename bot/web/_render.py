"""A message as members will see it: the payload discord.py would send for it (built by the dry run's
`message_body`, the code `check` validates) turned into what the preview template draws, with the
name and avatar it is posted under (the persona's, when it posts as the persona)."""
from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

BUTTON_STYLES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link"}
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_ITALIC = re.compile(r"(?<![*\w])[*_](?!\s)(.+?)(?<!\s)[*_](?![*\w])", re.S)
_CODE = re.compile(r"`([^`]+)`")
_TIMESTAMP = re.compile(r"&lt;t:(\d+)(?::[tTdDfFR])?&gt;")


def markdown(text: str | None) -> Markup:
    """The bits of Discord's markdown the bot's messages use: bold, italics, code, line breaks, <t:…>."""
    if not text:
        return Markup("")
    html = str(escape(text))
    html = _CODE.sub(r"<code>\1</code>", html)
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _ITALIC.sub(r"<em>\1</em>", html)
    html = _TIMESTAMP.sub(r'<span class="ts" data-ts="\1">⏱\1</span>', html)
    return Markup(html.replace("\n", "<br>"))


def message_view(app, message) -> dict[str, Any]:
    from bot.dryrun import message_body  # the request discord.py makes for it

    _route, payload = message_body(message)
    persona = app.config.community.persona
    as_persona = message.as_persona and persona.use_webhook
    embeds = []
    for e in payload.get("embeds") or ():
        embeds.append({
            "color": f"#{int(e['color']):06x}" if e.get("color") is not None else "#4e5058",
            "title": e.get("title"), "url": e.get("url"), "description": markdown(e.get("description")),
            "fields": [{"name": markdown(f.get("name")), "value": markdown(f.get("value")), "inline": f.get("inline")}
                       for f in e.get("fields") or ()],
            "image": (e.get("image") or {}).get("url"), "thumbnail": (e.get("thumbnail") or {}).get("url"),
            "footer": (e.get("footer") or {}).get("text"),
        })
    rows = []
    for row in payload.get("components") or ():
        rows.append([{"label": c.get("label") or "", "emoji": (c.get("emoji") or {}).get("name", ""),
                      "style": BUTTON_STYLES.get(c.get("style"), "secondary"), "disabled": c.get("disabled", False)}
                     for c in row.get("components") or ()])
    return {
        "name": persona.name if as_persona else "Kizuna",
        "avatar": str(persona.avatar_url) if as_persona and persona.avatar_url else None,
        "bot": True, "content": markdown(payload.get("content")), "embeds": embeds, "rows": rows,
        "thread": message.thread_name,
    }
