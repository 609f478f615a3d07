"""opencode: no hooks are wired to agentd yet, so waiting and busy come from
the screen patterns below, and its session id is not captured: `agent resume` uses
`--continue`, opencode's last session of the project (a repository's worktrees may share
one project; see docs/design.md, "Tasks with several sessions"). Usage and the thread
come from its own records (agents/opencode_records.py)."""

from __future__ import annotations

from agentd.agents.base import Defaults, Integration, command_line, without_dangling

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.agents.base import RecordReader, SessionFile
    from agentd.config import AgentSpec


class Opencode(Integration):
    name = "opencode"
    defaults = Defaults("opencode", args=("--prompt",),
                        waiting_patterns=(r"Permission required", r"Allow once"),
                        busy_patterns=(r"esc interrupt",))

    def launch(self, spec: AgentSpec, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]]:
        return without_dangling(command_line(spec, prompt), prompt, "--prompt"), {}

    def resume(self, spec: AgentSpec, conversation: str | None, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]] | None:
        how = ["--session", conversation] if conversation else ["--continue"]
        return without_dangling(command_line(spec, prompt, how), prompt, "--prompt"), {}

    def record_reader(self) -> RecordReader:
        from agentd.agents.opencode_records import READER

        return READER


INTEGRATION = Opencode()
