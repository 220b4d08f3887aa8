"""A fake Discord whose whole state is an append-only file, so it survives a `kill -9` of the process
that talks to it: the exact ledger of what Discord saw.

Each line is one JSON record, written with a single `os.write` and `fsync`ed before the call returns
(what Discord has done, it has done, whatever happens to the bot next). A line torn by a kill in the
middle of writing is a request Discord never completed: it is cut off when the file is opened again.

Discord's rules it keeps: `enforce_nonce` (the same author's message with the same nonce within
`NONCE_WINDOW` is returned, no new message); a webhook post carries no nonce; history lists messages
in a channel after a time; editing changes a message in place.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

NONCE_WINDOW = timedelta(minutes=3)  # as the offline harness (bot/offline/http.py)


@dataclass
class Message:
    id: int
    channel: str
    author: str  # "bot" | "webhook"
    content: str
    nonce: str | None
    at: datetime
    edits: list[str] = field(default_factory=list)


class FileDiscord:
    def __init__(self, path: str) -> None:
        self.path = path
        self.messages: dict[int, Message] = {}
        self._nonces: dict[tuple[str, str], int] = {}
        self.records: list[dict] = []
        self._load()
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _load(self) -> None:
        if not os.path.exists(self.path):
            return
        with open(self.path, "rb") as f:
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):  # a torn last line: that request never completed
            with open(self.path, "r+b") as f:
                f.truncate(len(complete))
                os.fsync(f.fileno())
        for line in complete.decode().splitlines():
            self._apply(json.loads(line))

    def _apply(self, record: dict) -> None:
        self.records.append(record)
        if record["op"] == "create":
            msg = Message(record["id"], record["channel"], record["author"], record["content"], record.get("nonce"),
                          datetime.fromisoformat(record["at"]))
            self.messages[msg.id] = msg
            if msg.nonce is not None:
                self._nonces[(msg.author, msg.nonce)] = msg.id
        elif record["op"] == "edit":
            self.messages[record["id"]].edits.append(record["content"])

    def _write(self, record: dict) -> None:
        os.write(self._fd, (json.dumps(record, ensure_ascii=False) + "\n").encode())
        os.fsync(self._fd)
        self._apply(record)

    # --- the API -------------------------------------------------------------------------------------
    def create(self, channel: str, author: str, content: str, nonce: str | None, now: datetime) -> Message:
        if nonce is not None:
            earlier = self.messages.get(self._nonces.get((author, nonce), 0))
            if earlier is not None and now - earlier.at <= NONCE_WINDOW:
                return earlier
        new_id = max(self.messages, default=0) + 1
        self._write({"op": "create", "id": new_id, "channel": channel, "author": author, "content": content,
                     "nonce": nonce, "at": now.isoformat()})
        return self.messages[new_id]

    def edit(self, message_id: int, content: str) -> Message:
        if message_id not in self.messages:
            raise KeyError(message_id)
        self._write({"op": "edit", "id": message_id, "content": content})
        return self.messages[message_id]

    def history(self, channel: str, after: datetime) -> list[Message]:
        return [m for m in self.messages.values() if m.channel == channel and m.at > after]

    def close(self) -> None:
        os.close(self._fd)


def count_by_content(path: str) -> tuple[dict[str, int], dict[int, Message]]:
    """(content -> how many messages were created with it, all messages) from a ledger file."""
    discord = FileDiscord(path)
    discord.close()
    counts: dict[str, int] = {}
    for msg in discord.messages.values():
        counts[msg.content] = counts.get(msg.content, 0) + 1
    return counts, discord.messages
