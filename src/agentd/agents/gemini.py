"""Gemini CLI: defaults only. No hooks are wired to agentd yet, so waiting and busy come
from the screen patterns below."""

from __future__ import annotations

from agentd.agents.base import Defaults, Integration


class Gemini(Integration):
    name = "gemini"
    defaults = Defaults("gemini", args=("-i",),
                        waiting_patterns=(r"Allow execution", r"Waiting for user confirmation"),
                        busy_patterns=(r"esc to cancel",))


INTEGRATION = Gemini()
