"""Gemini CLI: no hooks are wired to agentd yet, so waiting and busy come from the screen
patterns below; usage and the thread come from its own records (agents/gemini_records.py)."""

from __future__ import annotations

from agentd.agents.base import Defaults, Integration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.agents.base import RecordReader


class Gemini(Integration):
    name = "gemini"
    defaults = Defaults("gemini", args=("-i",),
                        waiting_patterns=(r"Allow execution", r"Waiting for user confirmation"),
                        busy_patterns=(r"esc to cancel",))


    def record_reader(self) -> RecordReader:
        from agentd.agents.gemini_records import READER

        return READER


INTEGRATION = Gemini()
