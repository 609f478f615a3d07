"""Agent integrations, one module each, and the registry that finds them by name.

`integration(name)` imports only that agent's module: `agent hook NAME` runs on every tool
call of an agent and must stay fast. Adding an agent is one module (see agents/base.py) and
one line here.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.agents.base import Integration

MODULES = {
    "claude": "agentd.agents.claude",
    "codex": "agentd.agents.codex",
    "gemini": "agentd.agents.gemini",
    "opencode": "agentd.agents.opencode",
    "aider": "agentd.agents.aider",
    "demo": "agentd.agents.demo",
    "generic": "agentd.agents.generic",  # any other command
}
# The built-in agents config.toml starts from, in the order they are listed.
BUILTINS = ("claude", "codex", "gemini", "opencode", "aider", "demo")
# The integrations with hooks (`agent hook NAME`); a test checks this against the modules.
WITH_HOOKS = ("claude", "codex")
# The integrations whose own records (transcripts, rollouts) the daemon reads for usage and
# the thread (docs/usage.md); a test checks this against the modules.
WITH_RECORDS = ("claude", "codex", "gemini", "opencode")


def integration(name: str) -> Integration:
    try:
        module = MODULES[name]
    except KeyError:
        raise LookupError(f"unknown integration {name!r} (known: {', '.join(MODULES)})") \
            from None
    found: Integration = __import__(module, fromlist=("INTEGRATION",)).INTEGRATION
    return found
