"""Gemini CLI: defaults only. No hooks are wired to agentd yet, so waiting and busy come
from the screen patterns below, and its session id is not captured: `agent resume` uses
`--resume latest`, the latest session of the project, which Gemini keys by the directory
(the task's worktree)."""

from __future__ import annotations

from agentd.agents.base import Defaults, Integration, command_line, without_dangling

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.agents.base import SessionFile
    from agentd.config import AgentSpec


class Gemini(Integration):
    name = "gemini"
    defaults = Defaults("gemini", args=("-i",),
                        waiting_patterns=(r"Allow execution", r"Waiting for user confirmation"),
                        busy_patterns=(r"esc to cancel",))

    def launch(self, spec: AgentSpec, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]]:
        return without_dangling(command_line(spec, prompt), prompt, "-i"), {}

    def resume(self, spec: AgentSpec, conversation: str | None, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]] | None:
        argv = command_line(spec, prompt, ["--resume", conversation or "latest"])
        return without_dangling(argv, prompt, "-i"), {}


INTEGRATION = Gemini()
