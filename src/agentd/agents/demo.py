"""The demo agent that ships with agentd (agentd/demo_agent.py): it reports its own
`waiting`/`resumed` events over AGENTD_SOCKET, so it needs no hooks and no screen patterns."""

from __future__ import annotations

import sys

from agentd.agents.base import Defaults, Integration


class Demo(Integration):
    name = "demo"
    defaults = Defaults(sys.executable, args=("-m", "agentd.demo_agent"))


INTEGRATION = Demo()
