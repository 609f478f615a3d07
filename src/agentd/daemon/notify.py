"""Config's `on_attention` command: run once for each new `action` event, with the event as
JSON on its standard input (docs/config.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from agentd.attention import RANK
from agentd.config import Config
from agentd.daemon.hub import Hub
from agentd.errors import AgentdError
from agentd.jsonlog import JsonLog
from agentd.protocol.views import EventView
from agentd.store.db import Store

TIMEOUT = 30.0


async def on_attention_forever(store: Store, hub: Hub, load_config: Callable[[], Config],
                               log: JsonLog) -> None:
    since = store.last_event_id()
    wake = hub.subscribe()
    try:
        while True:
            wake.clear()
            rows = store.events(since, min_level=RANK["action"], limit=100)
            if not rows:
                # Nothing to act on up to here (no await since the query, so no commit in
                # between): never scan these events again.
                since = store.last_event_id()
                await wake.wait()
                continue
            since = rows[-1]["id"]
            try:
                command = load_config().on_attention
            except AgentdError:
                command = None
            for row in rows if command else []:
                assert command
                await run(command, row, log)
    finally:
        hub.unsubscribe(wake)


async def run(command: str, row: dict[str, Any], log: JsonLog) -> None:
    payload = json.dumps(EventView.from_row(row).to_wire()).encode()
    try:
        proc = await asyncio.create_subprocess_shell(
            command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        try:
            _, err = await asyncio.wait_for(proc.communicate(payload), timeout=TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        if proc.returncode:
            log("warning", "on_attention command failed", task=row["task"], command=command,
                code=proc.returncode, stderr=err.decode(errors="replace")[-500:])
    except (OSError, TimeoutError) as e:
        log("warning", "on_attention command failed", task=row["task"], command=command,
            error=repr(e))
