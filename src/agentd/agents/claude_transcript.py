"""Claude Code's transcript (JSON lines) read for what its hooks do not carry: token usage.
Owned by agents/claude.py; the next issue replaces the PRICES table with genai-prices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# USD per million tokens (input, output), by model family; an unknown model has no cost.
PRICES = {"opus": (15.0, 75.0), "sonnet": (3.0, 15.0), "haiku": (1.0, 5.0)}


def price(model: str, tokens_in: int, tokens_out: int) -> float | None:
    for family, (p_in, p_out) in PRICES.items():
        if family in model:
            return round((tokens_in * p_in + tokens_out * p_out) / 1e6, 6)
    return None


def usage_since(transcript: str | None, mark: Path) -> dict[str, Any] | None:
    """Usage of the assistant messages added to a Claude Code transcript since the last
    call; the offset read so far is kept in the file `mark`."""
    if not transcript or not Path(transcript).exists():
        return None
    offset = int(mark.read_text()) if mark.exists() else 0
    tokens_in = tokens_out = 0
    model = ""
    seen: set[str] = set()
    with open(transcript, "rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    for raw in data[:end].splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        msg = entry.get("message") if isinstance(entry, dict) else None
        if not isinstance(msg, dict) or msg.get("role") != "assistant":
            continue
        usage = msg.get("usage") or {}
        if msg.get("id") in seen:  # one API message can span several transcript lines
            continue
        seen.add(str(msg.get("id")))
        tokens_in += int(usage.get("input_tokens", 0)) + int(
            usage.get("cache_creation_input_tokens", 0)) + int(
            usage.get("cache_read_input_tokens", 0))
        tokens_out += int(usage.get("output_tokens", 0))
        model = str(msg.get("model") or model)
    mark.write_text(str(offset + end))
    if not tokens_in and not tokens_out:
        return None
    result: dict[str, Any] = {"model": model, "tokens_in": tokens_in, "tokens_out": tokens_out}
    cost = price(model, tokens_in, tokens_out)
    if cost is not None:
        result["cost_usd"] = cost
    return result
