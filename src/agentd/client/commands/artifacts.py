"""`agent artifacts NAME`, `agent artifact add|get|show`: what a task left behind
(docs/artifacts.md). Everything comes through the daemon; text from agents (names,
descriptions, file contents, commit subjects) is escaped before it reaches the terminal."""

from __future__ import annotations

import os
import sys

from agentd.client import format as fmt
from agentd.client.commands import print_json
from agentd.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from argparse import Namespace
    from typing import Any

    from agentd.client.api import AgentdClient

TEXT_MIMES = ("application/json", "application/xml", "text/x-diff", "application/x-sh")


def size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def tests_line(t: dict[str, Any]) -> str:
    return (f"{t['tests']} tests, {t['failures']} failed, {t['errors']} errors, "
            f"{t['skipped']} skipped")


def cmd_artifacts(a: Namespace, api: AgentdClient) -> int:
    items = api.artifacts(a.name)
    if a.json:
        print_json(items)
        return 0
    if not items:
        print(f"{fmt.safe(a.name)} has no artifacts yet (commits, the final patch and the "
              "diffstat are captured when its session ends)")
        return 0
    rows = [("ID", "KIND", "SIZE", "NAME", "DESCRIPTION")]
    for x in items:
        rows.append((str(x["id"]), x["kind"], size(x["size"]), fmt.safe(x["name"] or "-"),
                     fmt.safe(x["description"] or "")))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for n, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
        if n == 0:
            continue
        x = items[n - 1]
        pad = " " * (widths[0] + 2)
        if "tests" in x:
            print(f"{pad}{tests_line(x['tests'])}")
            for name in x["tests"]["failing"][:10]:
                print(f"{pad}  ✗ {fmt.safe(name)}")
        for c in (x.get("commits") or [])[:10]:
            print(f"{pad}{c['hash'][:10]} {fmt.safe(c['subject'])}")
    return 0


def _id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"artifact id {text!r} is not a number ≥ 1 (see 'agent artifacts "
                         "NAME')")
    return value


def _one(api: AgentdClient, name: str, artifact_id: int) -> dict[str, Any]:
    for x in api.artifacts(name):
        if x["id"] == artifact_id:
            return x
    raise UsageError(f"{name} has no artifact {artifact_id} (see 'agent artifacts {name}')")


def is_text(x: dict[str, Any]) -> bool:
    mime = x.get("mime") or ""
    return mime.startswith("text/") or mime in TEXT_MIMES or mime.endswith("+xml")


def cmd_artifact(a: Namespace, api: AgentdClient) -> int:
    if a.action == "add":
        return add(a, api)
    if len(a.items) != 2:
        raise UsageError(f"usage: agent artifact {a.action} NAME ID")
    name, artifact_id = a.items[0], _id(a.items[1])
    if a.action == "get":
        return get(api, name, artifact_id, a.output)
    return show(api, name, artifact_id)


def add(a: Namespace, api: AgentdClient) -> int:
    target = a.task or os.environ.get("AGENTD_SESSION_ID")
    if not target:
        raise UsageError("agent artifact add works inside a managed session "
                         "(AGENTD_SESSION_ID); outside one, say which task with --task NAME")
    if a.output:
        raise UsageError("-o/--output is for 'agent artifact get'")
    paths = [os.path.abspath(p) for p in a.items]
    for p in paths:
        if not os.path.lexists(p):
            raise UsageError(f"{p}: no such file")
    added = api.add_artifact(target, paths, a.kind, a.description, a.outside)
    if a.json:
        print_json(added)
        return 0
    for x in added:
        extra = f"; {tests_line(x['tests'])}" if "tests" in x else ""
        print(f"artifact {x['id']}: {x['kind']} {fmt.safe(x['name'] or '')} "
              f"({size(x['size'])}, {x['mime']}){extra}")
    return 0


def get(api: AgentdClient, name: str, artifact_id: int, output: str | None) -> int:
    x = _one(api, name, artifact_id)
    if output in (None, "-"):
        if sys.stdout.isatty() and not is_text(x):
            raise UsageError(f"artifact {artifact_id} is binary ({x['mime']}); write it to "
                             f"a file with -o PATH, or pipe it")
        out = sys.stdout.buffer
        for block in api.artifact_bytes(name, artifact_id):
            out.write(block)
        out.flush()
        return 0
    assert output is not None
    tmp = f"{output}.agentd-partial"
    try:
        with open(tmp, "wb") as f:
            for block in api.artifact_bytes(name, artifact_id):
                f.write(block)
        os.replace(tmp, output)
    except OSError as e:
        raise UsageError(f"cannot write {output}: {e.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print(f"wrote {output} ({size(x['size'])})", file=sys.stderr)
    return 0


def show(api: AgentdClient, name: str, artifact_id: int) -> int:
    x = _one(api, name, artifact_id)
    print(f"artifact {x['id']} of {fmt.safe(name)}: {x['kind']}, {size(x['size'])}, "
          f"{x['mime'] or '-'}")
    if x.get("path"):
        print(f"from {fmt.safe(x['path'])}")
    print(fmt.safe(x.get("description") or ""))
    if "tests" in x:
        print(tests_line(x["tests"]))
        for failing in x["tests"]["failing"]:
            print(f"  ✗ {fmt.safe(failing)}")
        return 0
    if x["kind"] == "commits":
        for c in x.get("commits") or []:
            print(f"{c['hash'][:12]}  {fmt.safe(c['author'])}  {fmt.safe(c['subject'])}")
        return 0
    if not x["stored"]:
        return 0
    if not is_text(x):
        print(f"binary; 'agent artifact get {name} {artifact_id} -o FILE' writes it out")
        return 0
    print()
    pending = b""
    for block in api.artifact_bytes(name, artifact_id):
        pending += block
        head, sep, pending = pending.rpartition(b"\n")
        if sep:
            sys.stdout.write(fmt.content(head.decode(errors="replace")) + "\n")
    if pending:
        sys.stdout.write(fmt.content(pending.decode(errors="replace")) + "\n")
    return 0
