"""A drop's announcement: the post with the Claim / Enter button, and the versions that replace it
in place (sold out, back in stock, closed). Rendering only: the service and the follow-ups post it.

It is a card (a components-v2 layout, issue 20): the item with its picture beside it, the windows, then
where the drop stands, and the button at the foot; every version is a card, so an edit never has to
turn a card back into an embed (Discord does not allow that)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from bot.services.messages import Block, Button, Card, OutMessage

from ._results import Run

CLAIM_ID = "kizuna:drop:claim:{run_id}"
EMBED_COLOUR = 0xF4A7B9


def discord_time(when: datetime, style: str = "f") -> str:
    """A Discord timestamp tag: each reader sees it in their own time zone."""
    return f"<t:{int(when.timestamp())}:{style}>"


def announce_key(run_id: int) -> str:
    """The outbox key of a run's first post; later versions replace the message posted under it."""
    return f"drop:{run_id}:announce"


def announcement(t: Callable[..., str], run: Run, windows: list[tuple[str, datetime]], *, closed: bool = False,
                 sold_out: bool = False, replacing: bool = False) -> OutMessage:
    """The run's post. `closed`: once the run has closed, its button greyed out; `sold_out`: while
    no stock is left (with a waitlist, the button says it joins it). Those replace the first post
    in place, and so does any version made with `replacing` (back in stock)."""
    spec = run.spec
    lines = [t("drops.announce_title", item=spec.item)]
    if spec.description:
        lines.append(spec.description)
    if spec.collaborator:
        lines.append(t("drops.announce_with", collaborator=spec.collaborator))
    lines.append(t("drops.announce_stock_raffle" if spec.mode == "raffle" else "drops.announce_stock",
                   stock=spec.stock, limit=spec.limit))
    if spec.campaign:
        lines.append(t("drops.announce_campaign", action=spec.entries.action, since=t(f"drops.since_{spec.entries.since}")))
    when = [t("drops.announce_windows")]
    for name, start in windows:
        when.append(f"• **{name}**: {discord_time(start, 'F')} ({discord_time(start, 'R')})")
    if closed:
        status = t("drops.closed", item=spec.item)
    elif sold_out:
        status = t("drops.announce_sold_out_waitlist" if spec.waitlist else "drops.announce_sold_out")
    else:
        status = t("drops.announce_closes", when=discord_time(run.closes_at, "F")) if run.closes_at else ""
    blocks = [Block("\n".join(lines), thumbnail=str(spec.image) if spec.image else None),
              Block("\n".join(when), separator=True)]
    if status:
        blocks.append(Block(status, separator=True))
    label = t("drops.button_entries" if spec.campaign else
              "drops.button_enter" if spec.mode == "raffle" else "drops.button_claim")
    if sold_out and spec.waitlist and not closed:
        label = t("drops.button_waitlist")
    button = Button(label=label, custom_id=CLAIM_ID.format(run_id=run.id), style="success", disabled=closed)
    return OutMessage(card=Card(tuple(blocks), accent=EMBED_COLOUR), buttons=(button,),
                      as_persona=True, replaces=announce_key(run.id) if closed or replacing else None)
