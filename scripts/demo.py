"""`make demo`: start agentd, run a demo-agent task in a throwaway repository, show it.

Uses your normal runtime root (AGENTD_DIR if set), so the task stays there for you to
attach to, answer, diff and remove afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
AGENT = str(BIN / "agent")


def sh(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        sys.exit(f"demo: {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def main() -> int:
    repo = Path(tempfile.mkdtemp(prefix="agentd-demo-repo-"))
    ident = ["-c", "user.name=agentd demo", "-c", "user.email=demo@agentd.invalid"]
    sh("git", "init", "-q", "-b", "main", cwd=repo)
    (repo / "README.md").write_text("# demo project\n")
    sh("git", "add", ".", cwd=repo)
    sh("git", *ident, "commit", "-q", "-m", "initial commit", cwd=repo)
    print(f"$ cd {repo}")
    print('$ agent run --agent demo "tidy up the README"')
    out = sh(AGENT, "run", "--agent", "demo", "--json", "tidy up the README", cwd=repo)
    task = json.loads(out)
    name = task["name"]
    print(f"started {name} on {task['branch']} in {task['worktree']}\n")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        tasks = {t["name"]: t for t in json.loads(sh(AGENT, "ls", "--json"))}
        if tasks[name]["status"] != "running":
            break
        time.sleep(0.2)
    print("$ agent ls")
    print(sh(AGENT, "ls"))
    print(f"$ agent events {name}")
    print(sh(AGENT, "events", name))
    activate = os.path.relpath(BIN / "activate")
    print(f"""The demo agent edited and committed a file, and now waits for an answer.
Next, with the virtualenv active (. {activate}):
  agent attach {name}             # see its screen, answer y, Ctrl-] detaches
  agent send-input {name} -- y    # or answer from here
  agent diff {name}               # what it changed on {task['branch']}
  agent kill --rm {name}          # stop it and remove its worktree
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
