"""Validate every request the bot makes against Discord's published OpenAPI spec.

The spec is `../shared/discord-openapi/openapi.json` from the project root (env `KIZUNA_DISCORD_OPENAPI`
overrides). A request is matched to a spec operation by method and path template, segment by segment
(`{param}` matches any parameter), and its JSON body (or multipart `payload_json`) is validated with the
operation's request schema. Every violation is reported with its JSON path and the schema's message.
A few limits Discord enforces beyond what the document states (a bot's message content is at most
2000 characters; all embeds of a message together at most 6000) are checked too: the fake must never
be more forgiving than Discord.
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from collections import OrderedDict, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import discord

log = logging.getLogger(__name__)

SPEC_URI = "https://discord.com/openapi.json"
ENV = "KIZUNA_DISCORD_OPENAPI"
CHECKED_BODIES = 4096  # how many distinct request bodies' verdicts Spec.problems remembers
MESSAGE_BODY_PATHS = {
    ("POST", "/channels/{}/messages"), ("PATCH", "/channels/{}/messages/{}"),
}


class _Response:
    status = 400
    reason = "Bad Request"
    headers: dict[str, str] = {}


class SpecViolation(discord.HTTPException):
    """Discord would answer 400 Invalid Form Body: the request breaks its published schema."""

    def __init__(self, method: str, path: str, problems: list[str], body: Any = None) -> None:
        self.method = method
        self.path = path
        self.problems = problems
        self.body = body
        super().__init__(_Response(), {"code": 50035, "message": "Invalid Form Body"})
        self.args = (self.describe(),)

    def describe(self) -> str:
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"{self.method} {self.path} breaks Discord's API spec:\n{lines}"

    def __str__(self) -> str:
        return self.describe()


def default_spec_path() -> Path:
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[2]
    # beside the project (../shared), or beside a folder holding it (a git worktree in a subfolder)
    for folder in root.parents:
        candidate = folder / "shared" / "discord-openapi" / "openapi.json"
        if candidate.is_file():
            return candidate
    return root.parent / "shared" / "discord-openapi" / "openapi.json"


def _segments(path: str) -> list[str]:
    return [("{}" if s.startswith("{") and s.endswith("}") else s) for s in path.strip("/").split("/")]


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _short(message: str, limit: int = 240) -> str:
    half = limit // 2
    return message if len(message) <= limit else message[:half] + " … " + message[-(limit - half - 20):]


class Spec:
    """The loaded spec; `problems(method, path, body)` lists every violation (empty: valid)."""

    def __init__(self, document: dict[str, Any] | None, source: Path | None = None) -> None:
        self.document = document
        self.source = source
        self._index: dict[tuple[str, ...], list[str]] = defaultdict(list)
        self._validators: dict[tuple[str, str, str], Any] = {}
        # the problems of bodies already checked: a test or bench sends the same body many times (the
        # same ephemeral reply to every click), and jsonschema's $ref walk is most of a click's CPU
        self._checked: OrderedDict[tuple[str, str, str], list[str]] = OrderedDict()
        if document is not None:
            # Discord takes a snowflake as a JSON string or integer (discord.py sends integers, e.g.
            # recipient_id); the document only describes the string form.
            schemas = document.get("components", {}).get("schemas", {})
            # Discord's answers carry snowflakes as strings only: answers are checked on the strict form
            answers = dict(document, components=dict(document.get("components", {}), schemas=dict(schemas)))
            if "SnowflakeType" in schemas:
                schemas["SnowflakeType"] = {"anyOf": [schemas["SnowflakeType"],
                                                      {"type": "integer", "minimum": 0}]}
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012

            self.registry = Registry().with_resource(
                SPEC_URI, Resource.from_contents(document, default_specification=DRAFT202012))
            self.answers_registry = Registry().with_resource(
                SPEC_URI, Resource.from_contents(answers, default_specification=DRAFT202012))
            for path in document.get("paths", {}):
                self._index[tuple(_segments(path))].append(path)

    @property
    def available(self) -> bool:
        return self.document is not None

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Spec":
        return _load(str(path or default_spec_path()))

    def operation_path(self, method: str, template: str) -> str | None:
        """The spec's path for a route template, literal segments first (e.g. messages/@original)."""
        if self.document is None:
            return None
        segs = template.strip("/").split("/")
        candidates = self._index.get(tuple(_segments(template)), [])
        best = None
        for cand in candidates:
            if method.lower() not in self.document["paths"][cand]:
                continue
            cand_segs = cand.strip("/").split("/")
            if all((a.startswith("{") and b.startswith("{")) or a == b for a, b in zip(segs, cand_segs)):
                return cand
            best = best or cand
        return best

    def _validator(self, method: str, path: str, media: str):
        key = (method, path, media)
        if key not in self._validators:
            from jsonschema import Draft202012Validator

            ref = SPEC_URI + "#/" + _pointer("paths", path, method.lower(), "requestBody", "content", media, "schema")
            self._validators[key] = Draft202012Validator({"$ref": ref}, registry=self.registry)
        return self._validators[key]

    def problems(self, method: str, template: str, body: Any) -> list[str]:
        if self.document is None or body is None:
            return []
        try:
            key = (method, template, json.dumps(body, sort_keys=True, separators=(",", ":")))
        except (TypeError, ValueError):  # not plain JSON: check it every time
            return self._problems(method, template, body)
        found = self._checked.get(key)
        if found is None:
            found = self._checked[key] = self._problems(method, template, body)
            if len(self._checked) > CHECKED_BODIES:
                self._checked.popitem(last=False)
        else:
            self._checked.move_to_end(key)
        return list(found)

    def _problems(self, method: str, template: str, body: Any) -> list[str]:
        path = self.operation_path(method, template)
        if path is None:
            return []
        op = self.document["paths"][path][method.lower()]
        content = (op.get("requestBody") or {}).get("content") or {}
        media = "application/json" if "application/json" in content else next(iter(content), None)
        out: list[str] = []
        if media is not None:
            validator = self._validator(method, path, media)
            for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
                for leaf in _leaves(error):
                    out.append(f"{leaf.json_path}: {_describe(leaf)}")
        out.extend(discord_limits(method, template, body))
        return list(dict.fromkeys(out))


    # --- answers (the fakes that answer for Discord: bot/offline/oauth.py) -----------------------------
    def response_problems(self, method: str, template: str, status: int, body: Any) -> list[str]:
        """What is wrong with an answer (status and JSON body) to `method template`, by the operation's
        responses: the exact status, else its class (4XX), else `default`; a status the operation does
        not list, or an operation the document does not have, is a problem too."""
        if self.document is None:
            return []
        path = self.operation_path(method, template)
        if path is None:
            return [f"{method} {template} is not in Discord's API"]
        responses = self.document["paths"][path][method.lower()].get("responses", {})
        key = next((k for k in (str(status), f"{status // 100}XX", "default") if k in responses), None)
        if key is None:
            return [f"{status} is not an answer {method} {path} gives ({', '.join(responses)})"]
        pointer = _pointer("paths", path, method.lower(), "responses", key)
        answer = responses[key]
        if "$ref" in answer:  # e.g. #/components/responses/ClientErrorResponse
            pointer = answer["$ref"].removeprefix("#/")
            answer = self.document
            for part in pointer.split("/"):
                answer = answer[part.replace("~1", "/").replace("~0", "~")]
        content = answer.get("content") or {}
        if "application/json" not in content:
            return [] if body is None else [f"{status} answers of {method} {path} have no JSON body"]
        from jsonschema import Draft202012Validator

        validator = Draft202012Validator({"$ref": f"{SPEC_URI}#/{pointer}/content/application~1json/schema"},
                                         registry=self.answers_registry)
        out = [f"{leaf.json_path}: {_describe(leaf)}"
               for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
               for leaf in _leaves(error)]
        return list(dict.fromkeys(out))

    def oauth_scopes_needed(self, method: str, template: str) -> list[set[str]] | None:
        """The OAuth2 scope sets any one of which lets a bearer token call the operation (its `security`);
        None when no OAuth2 token may call it at all."""
        path = self.operation_path(method, template) if self.document else None
        if path is None:
            return None
        options = [set(s["OAuth2"]) for s in self.document["paths"][path][method.lower()].get("security", [])
                   if "OAuth2" in s]
        return options or None

    def oauth_flow(self, name: str = "authorizationCode") -> dict[str, Any]:
        """The document's OAuth2 flow: authorizationUrl, tokenUrl and the scopes Discord knows."""
        if self.document is None:
            return {}
        return self.document["components"]["securitySchemes"]["OAuth2"]["flows"][name]


@lru_cache(maxsize=4)
def _load(path: str) -> Spec:
    p = Path(path)
    if not p.is_file():
        message = (f"Discord's OpenAPI spec not found at {p}: request bodies are NOT validated "
                   f"(set {ENV} or lay out ../shared/discord-openapi/openapi.json)")
        log.warning(message)
        warnings.warn(message, stacklevel=2)
        return Spec(None, p)
    return Spec(json.loads(p.read_text(encoding="utf-8")), p)


def _describe(error) -> str:
    """The schema's message; for a string over its maxLength, the length and the limit instead of the
    whole text."""
    if error.validator == "maxLength" and isinstance(error.instance, str):
        return (f"is too long ({len(error.instance)} characters; the limit is {error.validator_value}):"
                f" {_short(repr(error.instance), 80)}")
    return _short(error.message)


def _discriminator_miss(error) -> bool:
    """A union branch that was never meant: its `type` tag (or the JSON type) does not match."""
    rel = list(error.relative_path)
    if error.validator in ("enum", "const") and rel in (["type"], ["trigger_type"]):  # trigger_type: AutoMod rules
        return True
    if error.validator == "type" and rel == []:
        return True
    return False


def _leaves(error) -> Iterator[Any]:
    """Descend through anyOf/oneOf to the errors of the branch the payload was meant for."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        groups: dict[Any, list] = defaultdict(list)
        for sub in error.context:
            groups[sub.relative_schema_path[0]].append(sub)
        meant = [g for g in groups.values() if not any(_discriminator_miss(e) for e in g if len(e.relative_path) <= 1)]
        if not meant:
            yield error
            return
        chosen = min(meant, key=len)
        for sub in chosen:
            yield from _leaves(sub)
        return
    yield error


def discord_limits(method: str, template: str, body: Any) -> Iterator[str]:
    """The limits Discord enforces that its document does not state (content 2000, embeds 6000)."""
    if not isinstance(body, dict):
        return
    data = body
    if template.endswith("/callback"):
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
    content = data.get("content")
    if isinstance(content, str) and len(content) > 2000:
        yield f"$.content: a bot's message content must be 2000 or fewer in length (got {len(content)})"
    embeds = data.get("embeds")
    if isinstance(embeds, list):
        total = 0
        for e in embeds:
            if not isinstance(e, dict):
                continue
            total += len(e.get("title") or "") + len(e.get("description") or "")
            total += len((e.get("footer") or {}).get("text") or "") + len((e.get("author") or {}).get("name") or "")
            for f in e.get("fields") or []:
                total += len(f.get("name") or "") + len(f.get("value") or "")
        if total > 6000:
            yield f"$.embeds: all embeds together must be 6000 or fewer characters (got {total})"
    yield from _poll_limits(data)
    if not (template.endswith("/callback") and body.get("type") == MODAL_RESPONSE):  # a modal's are its fields
        yield from components_v2_limits(data)


POLL_ANSWER_MAX = 55  # Discord's documentation: "text ... 300 for the question, 55 for any answer"


def _poll_limits(data: dict) -> Iterator[str]:
    """A poll's answers (the document gives them the question's 300), as Discord's API enforces them."""
    poll = data.get("poll")
    if not isinstance(poll, dict):
        return
    for i, answer in enumerate(poll.get("answers") or []):
        text = ((answer or {}).get("poll_media") or {}).get("text") if isinstance(answer, dict) else None
        if isinstance(text, str) and len(text) > POLL_ANSWER_MAX:
            yield (f"$.poll.answers[{i}].poll_media.text: a poll answer must be {POLL_ANSWER_MAX} or fewer in"
                   f" length (got {len(text)})")


# --- components v2 (issue 20): what Discord's documentation states and its OpenAPI document does not ------
IS_COMPONENTS_V2 = 1 << 15
MAX_V2_COMPONENTS = 40       # every component of the message, nested ones included
MAX_V2_TEXT = 4000           # all text displays of the message together
ACTION_ROW, TEXT_DISPLAY = 1, 10
MODAL_RESPONSE = 9  # InteractionResponseType.modal


def _all_components(components: Any) -> Iterator[dict]:
    for c in components if isinstance(components, list) else ():
        if isinstance(c, dict):
            yield c
            yield from _all_components(c.get("components"))
            if isinstance(c.get("accessory"), dict):
                yield from _all_components([c["accessory"]])


def components_v2_limits(data: dict) -> Iterator[str]:
    """With the IS_COMPONENTS_V2 flag: no content, embeds, poll or stickers, at most 40 components in
    all and 4000 characters over all text displays; without it, only action rows at the top."""
    components = data.get("components")
    flags = data.get("flags")
    v2 = isinstance(flags, int) and bool(flags & IS_COMPONENTS_V2)
    if not v2:
        if isinstance(components, list) and any(isinstance(c, dict) and c.get("type") != ACTION_ROW
                                                for c in components):
            yield ("$.components: layout components (container, section, text display...) need the"
                   " IS_COMPONENTS_V2 flag (1 << 15)")
        return
    for key in ("content", "embeds", "poll", "sticker_ids"):
        if data.get(key):
            yield f"$.{key}: a message with the IS_COMPONENTS_V2 flag cannot have {key}"
    every = list(_all_components(components))
    if len(every) > MAX_V2_COMPONENTS:
        yield (f"$.components: a components-v2 message has at most {MAX_V2_COMPONENTS} components in all,"
               f" nested ones included (got {len(every)})")
    text = sum(len(c.get("content") or "") for c in every if c.get("type") == TEXT_DISPLAY)
    if text > MAX_V2_TEXT:
        yield (f"$.components: the text displays of a message must be {MAX_V2_TEXT} or fewer characters"
               f" together (got {text})")
