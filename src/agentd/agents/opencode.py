"""opencode: no hooks are wired to agentd yet, so waiting and busy come from the screen
patterns below; usage and the thread come from its own records (agents/opencode_records.py)."""

from __future__ import annotations

from agentd.agents.base import Defaults, Integration

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.agents.base import RecordReader


class Opencode(Integration):
    name = "opencode"
    defaults = Defaults("opencode", args=("--prompt",),
                        waiting_patterns=(r"Permission required", r"Allow once"),
                        busy_patterns=(r"esc interrupt",))


    def record_reader(self) -> RecordReader:
        from agentd.agents.opencode_records import READER

        return READER


INTEGRATION = Opencode()
