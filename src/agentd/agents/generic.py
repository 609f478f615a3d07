"""Any other command (a user's `[agents.NAME]` with no `integration`): started as
`command args... [prompt]`, with no hooks; it is watched through its screen patterns and
`idle_seconds` from config, or reports its own events (`agent emit`)."""

from __future__ import annotations

from agentd.agents.base import Defaults, Integration


class Generic(Integration):
    name = "generic"
    defaults = Defaults("")  # no built-in agent: the user's table gives the command


INTEGRATION = Generic()
