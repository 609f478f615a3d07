"""Gemini CLI: no hooks are wired to agentd yet, so waiting and busy come
from the screen patterns below, and its session id is not captured: `agent resume` uses
`--resume latest`, the latest session of the project, which Gemini keys by the directory
(the task's worktree). Usage and the thread come from its own records
(agents/gemini_records.py)."""

from __future__ import annotations

from agentd.agents.base import Defaults, Integration, command_line, without_dangling

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.agents.base import RecordReader, SessionFile
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

    def record_reader(self) -> RecordReader:
        from agentd.agents.gemini_records import READER

        return READER


INTEGRATION = Gemini()
