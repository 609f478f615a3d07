"""`agent merge NAME` and `agent apply NAME`: bringing a task's work home
(docs/artifacts.md). The daemon does the git work and refuses, changing nothing, when the
checkout is not ready or the merge would conflict."""

from __future__ import annotations

import os
import sys

from agentd.client import format as fmt
from agentd.client.commands import print_json
from agentd.errors import EXIT_CONFLICT

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace
    from typing import Any

    from agentd.client.api import AgentdClient


def _commits(n: int) -> str:
    return f"{n} commit{'s' if n != 1 else ''}"


def describe(r: dict[str, Any]) -> str:
    branch, into, n = r["branch"], r["into"], r["commits"]
    if r["outcome"] == "up-to-date":
        return f"nothing to merge: {branch} has no commits that {into} lacks"
    verb = {"fast-forward": ("would fast-forward", "fast-forwarded"),
            "merge": ("would merge", "merged"),
            "squash": ("would squash", "squashed")}[r["outcome"]][0 if r["dry_run"] else 1]
    if r["outcome"] == "fast-forward":
        return f"{verb} {into} to {branch} ({_commits(n)})"
    if r["outcome"] == "squash":
        return f"{verb} {_commits(n)} of {branch} into one commit on {into}"
    return f"{verb} {branch} into {into} with a merge commit ({_commits(n)})"


def cmd_merge(a: Namespace, api: AgentdClient) -> int:
    r = api.merge(a.name, a.into, a.squash, a.dry_run)
    if a.json:
        print_json(r)
    else:
        print(describe(r) + (f" in {r['workspace']}" if r["merged"] else ""))
        for note in r["notes"]:
            print(f"  note: {fmt.safe(note)}")
    if r.get("blocked"):
        if not a.json:
            print(f"agent: but merging now would be refused: {r['blocked']}", file=sys.stderr)
        return EXIT_CONFLICT
    return 0


def cmd_apply(a: Namespace, api: AgentdClient) -> int:
    r = api.apply(a.name, os.path.abspath(a.workspace or os.getcwd()))
    if a.json:
        print_json(r)
        return 0
    print(f"applied the patch of {r['name']} ({r['source']}) to {r['workspace']} as "
          "uncommitted changes; 'git diff' and 'git status' show them")
    return 0
