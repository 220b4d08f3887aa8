"""Modal components beyond text inputs and selects, as a member fills them in: radio groups, checkbox
groups, single checkboxes and file uploads (discord.py 2.7's `ui.RadioGroup`, `ui.CheckboxGroup`,
`ui.Checkbox`, `ui.FileUpload`).

`answer(harness, component, given, resolved)` turns what a test (or the playground) gives for one
field into the modal-submit payload Discord sends, refusing what Discord's client would not let the
member submit (a required radio left empty, too few or too many ticks, an option the field does not
have). Values are matched by option value or label (case-insensitive); several checkbox answers may be
a list or one comma-separated string; a checkbox takes a bool or yes/no words. Uploaded files land in
`resolved["attachments"]` (and their bytes in the world's CDN), as Discord describes them.
"""
from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any

from discord.enums import ComponentType as CT

if TYPE_CHECKING:
    from .harness import Harness

RADIO, CHECKBOXES, CHECKBOX, FILE_UPLOAD = (CT.radio_group.value, CT.checkbox_group.value, CT.checkbox.value,
                                            CT.file_upload.value)
KINDS = frozenset({RADIO, CHECKBOXES, CHECKBOX, FILE_UPLOAD})
YES = frozenset({"yes", "y", "true", "on", "1", "x", "✓", "✔", "checked", "tick", "ticked", "はい"})
NO = frozenset({"", "no", "n", "false", "off", "0", "unchecked", "いいえ"})


def _refused(message: str) -> Exception:
    from .harness import OptionRefused

    return OptionRefused(message)


def _name(c: dict[str, Any]) -> str:
    return repr(c.get("label") or c.get("custom_id"))


def _option_value(c: dict[str, Any], given: Any) -> str:
    text = str(given).strip()
    for o in c.get("options") or []:
        if text == o.get("value") or text.lower() in (str(o.get("value", "")).lower(), str(o.get("label", "")).lower()):
            return o["value"]
    choices = ", ".join(repr(o.get("label")) for o in c.get("options") or [])
    raise _refused(f"{_name(c)} has no option {text!r} (options: {choices})")


def _many(given: Any) -> list[Any]:
    if given is None:
        return []
    if isinstance(given, str):
        return [part for part in (p.strip() for p in given.split(",")) if part]
    if isinstance(given, (list, tuple, set)):
        return list(given)
    return [given]


def answer(harness: "Harness", c: dict[str, Any], given: Any, resolved: dict[str, Any]) -> dict[str, Any]:
    kind, cid = c.get("type"), c.get("custom_id")
    required = c.get("required", True) is not False
    if kind == RADIO:
        value = None if given in (None, "") else _option_value(c, given)
        if value is None and required:
            raise _refused(f"Discord requires a choice in {_name(c)}")
        return {"type": RADIO, "custom_id": cid, "value": value}
    if kind == CHECKBOXES:
        values = list(dict.fromkeys(_option_value(c, v) for v in _many(given)))
        low = c.get("min_values") if c.get("min_values") is not None else (1 if required else 0)
        high = c.get("max_values") if c.get("max_values") is not None else 1
        if values or required:
            if not low <= len(values) <= high:
                raise _refused(f"{_name(c)} takes {low} to {high} ticks (got {len(values)})")
        return {"type": CHECKBOXES, "custom_id": cid, "values": values}
    if kind == CHECKBOX:
        if isinstance(given, bool) or given is None:
            ticked = bool(given)
        elif str(given).strip().lower() in YES:
            ticked = True
        elif str(given).strip().lower() in NO:
            ticked = False
        else:
            raise _refused(f"{_name(c)} is a checkbox: answer yes or no (got {given!r})")
        return {"type": CHECKBOX, "custom_id": cid, "value": ticked}
    if kind == FILE_UPLOAD:
        one = isinstance(given, tuple) and len(given) == 2 and isinstance(given[1], (bytes, bytearray))
        files = [_file(f) for f in ([given] if one else _many(given))]
        low = c.get("min_values") if c.get("min_values") is not None else (1 if required else 0)
        high = c.get("max_values") if c.get("max_values") is not None else 1
        if (files or required) and not low <= len(files) <= high:
            raise _refused(f"{_name(c)} takes {low} to {high} files (got {len(files)})")
        ids = [upload(harness, name, data, resolved) for name, data in files]
        return {"type": FILE_UPLOAD, "custom_id": cid, "values": ids}
    raise ValueError(f"not a component this module answers: {kind}")


def _file(given: Any) -> tuple[str, bytes]:
    """(filename, bytes) from a pair, a path to a file that exists, or a bare name (a small fake PNG)."""
    if isinstance(given, tuple) and len(given) == 2:
        return str(given[0]), bytes(given[1])
    path = Path(str(given))
    if path.is_file():
        return path.name, path.read_bytes()
    return path.name, FAKE_PNG


# the smallest valid PNG (1x1): what a bare file name in the playground uploads
FAKE_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                         "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def upload(harness: "Harness", filename: str, data: bytes, resolved: dict[str, Any]) -> str:
    """Store an uploaded file as Discord does for a modal (an ephemeral attachment) and describe it
    in `resolved`; returns its id."""
    world = harness.world
    attachment_id = world.new_id()
    url = f"https://cdn.discordapp.com/ephemeral-attachments/{world.application_id}/{attachment_id}/{filename}"
    world.cdn[url] = data
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    payload: dict[str, Any] = {"id": str(attachment_id), "filename": filename, "size": len(data), "url": url,
                               "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
                               "content_type": content_type, "ephemeral": True}
    if content_type.startswith("image/"):
        payload.update(width=1, height=1)
    resolved.setdefault("attachments", {})[str(attachment_id)] = payload
    return str(attachment_id)
