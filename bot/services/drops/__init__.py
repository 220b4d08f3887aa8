"""Collab drops: staggered tier windows, first-come claims that never oversell, a waitlist, seeded
raffles (and campaigns, raffles whose entries come from participation), redemption codes by DM.

One job per module:
  _service.py       the facade (`app.drops`): open, close, the button, release, status, export
  _windows.py       who may take part and from when (pure)
  _planner.py       the claim rules: a batch of claims decided from the runs' state (pure)
  _writer.py        the single claim writer: queue, batches, what is committed in memory
  _raffles.py       entries, campaigns, seeded draws
  _delivery.py      after claims: codes and DMs, the announcement following the stock
  _announcement.py  the drop's post and its replacements (rendering)
  _results.py       what the service answers, and `Run`
"""
from __future__ import annotations

from ._announcement import CLAIM_ID, discord_time
from ._planner import ClaimOutcome, ClaimPlan, Holdings, RunFacts, plan_claims
from ._raffles import pick_winners
from ._results import ClaimResult, DrawResult, DropStatus, OpenResult, Run
from ._service import DropsService
from ._writer import ClaimWriter

__all__ = ["CLAIM_ID", "ClaimOutcome", "ClaimPlan", "ClaimResult", "ClaimWriter", "DrawResult", "DropStatus",
           "DropsService", "Holdings", "OpenResult", "Run", "RunFacts", "build", "discord_time", "pick_winners",
           "plan_claims"]


def build(app) -> DropsService:
    return DropsService(app)
