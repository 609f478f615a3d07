"""opencode: defaults only. No hooks are wired to agentd yet, so waiting and busy come from
the screen patterns below."""

from __future__ import annotations

from agentd.agents.base import Defaults, Integration


class Opencode(Integration):
    name = "opencode"
    defaults = Defaults("opencode", args=("--prompt",),
                        waiting_patterns=(r"Permission required", r"Allow once"),
                        busy_patterns=(r"esc interrupt",))


INTEGRATION = Opencode()
