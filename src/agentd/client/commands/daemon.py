"""`agent daemon info|stop|restart|upgrade`."""

from __future__ import annotations

from agentd.client.commands import print_json
from agentd.errors import AgentdError
from agentd.procs import wait_gone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace

    from agentd.client.api import AgentdClient


def cmd_daemon(a: Namespace, api: AgentdClient) -> int:
    if a.action == "info":
        info = api.daemon_info()
        if a.json:
            print_json(info)
        else:
            width = max(len(k) for k in info)
            for k, v in info.items():
                shown = ", ".join(v) or "-" if isinstance(v, list) else v
                print(f"{k.ljust(width)}  {shown}")
        return 0
    if a.action in ("stop", "restart"):
        try:
            info = api.stop()
        except AgentdError:
            if a.action == "stop":
                print("agentd is not running")
                return 0
        else:
            if not wait_gone(info["pid"]):
                raise AgentdError(f"agentd (pid {info['pid']}) did not stop")
            print(f"agentd stopped (pid {info['pid']}); running tasks keep running")
        if a.action == "restart":
            info = api.hello()
            print(f"agentd started (version {info['version']})")
        return 0
    # upgrade: the daemon re-executes itself from the installed code, keeping its socket.
    old = api.daemon_info()
    api.upgrade()
    new = api.daemon_info()
    print(f"agentd upgraded in place: pid {new['pid']}, version {old['version']} → "
          f"{new['version']}; {len(new['running_tasks'])} running task(s) untouched")
    return 0
