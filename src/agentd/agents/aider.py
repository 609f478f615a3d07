"""aider: defaults only. It takes no prompt argument, so the prompt is typed into its PTY;
no hooks are wired to agentd, so waiting and busy come from the screen patterns below.
`agent resume` restores its chat history from the worktree (--restore-chat-history)."""

from __future__ import annotations

from agentd.agents.base import Defaults, Integration, command_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.agents.base import SessionFile
    from agentd.config import AgentSpec


class Aider(Integration):
    name = "aider"
    defaults = Defaults("aider", prompt="type",
                        waiting_patterns=(r"\(Y\)es/\(N\)o", r"\[Yes\]:"),
                        busy_patterns=(r"Waiting for",))

    def resume(self, spec: AgentSpec, conversation: str | None, prompt: str,
               session_file: SessionFile) -> tuple[list[str], dict[str, str]] | None:
        # aider keeps its chat history in the worktree (.aider.chat.history.md).
        return command_line(spec, prompt, ["--restore-chat-history"]), {}


INTEGRATION = Aider()
