"""aider: defaults only. It takes no prompt argument, so the prompt is typed into its PTY;
no hooks are wired to agentd, so waiting and busy come from the screen patterns below."""

from __future__ import annotations

from agentd.agents.base import Defaults, Integration


class Aider(Integration):
    name = "aider"
    defaults = Defaults("aider", prompt="type",
                        waiting_patterns=(r"\(Y\)es/\(N\)o", r"\[Yes\]:"),
                        busy_patterns=(r"Waiting for",))


INTEGRATION = Aider()
