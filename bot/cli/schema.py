from __future__ import annotations

import json
from pathlib import Path

from bot.config.registry import FILES

HELP = "Write a JSON Schema per YAML file (for editor autocompletion) into a folder."


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="schema", help="folder to write <file>.schema.json into (default: schema)")


def run(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for spec in FILES:
        schema = spec.model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        name = spec.pattern.replace("/*.yaml", "").replace(".yaml", "")
        path = out / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path}  (for {spec.pattern})")
    return 0
