"""Artifacts: what a task leaves behind, kept as files under `<data>/artifacts/<task>/`
(docs/artifacts.md).

- **Captured** when a session ends (`capture`, hung on `Sessions.on_ended`, so also for
  sessions that ended while the daemon was down): the commits on the task's branch beyond
  its base, the final patch (commits + uncommitted + untracked changes, binary included,
  built from a snapshot tree so the agent's index is never touched) and the diffstat.
- **Registered** by the agent (`agent artifact add`, or an `artifact` event with
  `data.path`): the file is copied at once, with its size, sha256 and mime type; JUnit XML
  test results are parsed into counts.

Git and file work runs in threads (`asyncio.to_thread`); the store only on the loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import mimetypes
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat

from agentd.config import Config
from agentd.daemon import git
from agentd.errors import Conflict, TaskNotFound, UsageError
from agentd.jsonlog import JsonLog
from agentd.paths import Paths
from agentd.protocol.events import AgentEvent
from agentd.protocol.views import iso
from agentd.store.db import Store

REGISTERED_KINDS = ("file", "test-results", "screenshot", "report")
CAPTURED_KINDS = ("commits", "patch", "diffstat")
MAX_XML_BYTES = 20 * 1024 * 1024  # test results larger than this are kept, not parsed
MAX_FAILING_NAMES = 50
CHUNK = 1 << 20


class Artifacts:
    def __init__(self, paths: Paths, store: Store, load_config: Callable[[], Config],
                 log: JsonLog) -> None:
        self.paths = paths
        self.store = store
        self.load_config = load_config
        self.log = log

    # -- captured when a session ends ------------------------------------------------------

    async def capture(self, session: dict[str, Any]) -> None:
        """The `on_ended` step: commits, final patch and diffstat of the session's task."""
        try:
            task = self.store.task_by_id(session["task_id"])
        except TaskNotFound:
            return
        records, figures = await asyncio.to_thread(self._capture, task, session["id"])
        if records:
            self.store.add_artifacts(task["id"], session["id"], records, "info")
        if figures is not None:
            self.store.set_git_stat(task["id"], figures)

    def _capture(self, task: dict[str, Any],
                 sid: str) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
        repo, worktree = Path(task["workspace"]), Path(task["worktree"])
        branch_ref = f"refs/heads/{task['branch']}"
        if not repo.is_dir():
            self.log("warning", "artifact capture skipped: workspace is gone",
                     task=task["name"], session=sid)
            return [], None
        commits: list[dict[str, Any]] = []
        if git.resolve_commit(repo, branch_ref):
            commits = git.commits_between(repo, task["base_commit"], branch_ref)
        if (worktree / ".git").exists():
            base = git.merge_base(worktree, task["base_commit"], "HEAD") or task["base_commit"]
            tree = git.snapshot_tree(worktree)
            where = worktree
        elif git.resolve_commit(repo, branch_ref):  # the worktree is gone: the branch is all
            base, tree, where = task["base_commit"], branch_ref, repo
        else:
            return [], None
        patch = git.binary_patch(where, base, tree)
        stat_text = git.diff(where, base, tree, stat=True, color=False)
        figures = git.numstat(where, base, tree)
        folder = self.paths.task_artifacts(task["name"])
        folder.mkdir(parents=True, exist_ok=True)
        n = len(commits)
        return [
            _write(folder, f"{sid}-commits.json", json.dumps(commits, indent=1).encode(),
                   "commits", "application/json",
                   f"{n} commit{'s' if n != 1 else ''} on {task['branch']} beyond "
                   f"{task['base']}", {"commits": commits, "base": task["base_commit"]}),
            _write(folder, f"{sid}-final.patch", patch, "patch", "text/x-diff",
                   f"final patch against {task['base']} ({figures['files']} file(s), "
                   f"+{figures['added']} -{figures['removed']})",
                   {"base": base, "tree": tree, **figures}),
            _write(folder, f"{sid}-diffstat.txt", stat_text.encode(), "diffstat",
                   "text/plain", f"diffstat: {figures['files']} file(s), "
                   f"+{figures['added']} -{figures['removed']}", {"base": base, **figures}),
        ], figures

    # -- registered by the agent -----------------------------------------------------------

    async def register(self, task: dict[str, Any], session_id: str | None, paths: list[str],
                       kind: str, description: str | None,
                       outside: bool) -> list[dict[str, Any]]:
        """Copy files into the task's artifacts and record them (an `artifact` event each).
        All or nothing: one file that cannot be taken leaves no copy and no record."""
        limit = self.load_config().artifact_max_bytes
        records: list[dict[str, Any]] = []
        try:
            for path in paths:
                records.append(await asyncio.to_thread(self.take, task, path, kind,
                                                       description, outside, limit))
            ids = self.store.add_artifacts(task["id"], session_id, records, "notice")
        except BaseException:
            for r in records:
                (self.paths.task_artifacts(task["name"]) / r["stored"]).unlink(
                    missing_ok=True)
            raise
        rows = [self.store.artifact(task["id"], i) for i in ids]
        return [self.view(r) for r in rows if r is not None]

    async def take_events(self, task: dict[str, Any],
                          events: list[AgentEvent]) -> list[AgentEvent]:
        """An `append_session_events` batch with every `artifact` event that names a file
        copied and its data replaced by what agentd recorded. All or nothing: a file that
        cannot be taken rejects the batch, and the copies made for it are removed."""
        if not any(e.kind == "artifact" for e in events):
            return events
        limit = self.load_config().artifact_max_bytes
        out: list[AgentEvent] = []
        taken: list[Path] = []
        try:
            for i, e in enumerate(events):
                if e.kind != "artifact":
                    out.append(e)
                    continue
                kind = e.data.get("type", "file")
                if kind not in REGISTERED_KINDS:
                    raise UsageError(f"event {i}: field 'data.type' must be one of "
                                     f"{', '.join(REGISTERED_KINDS)}; batch rejected, "
                                     "nothing stored")
                path = e.data.get("path")
                desc = e.data.get("description")
                if path is None:
                    data = {"type": kind, "description": str(desc or e.summary)}
                    out.append(AgentEvent(e.kind, e.attention, e.summary, data, e.ts))
                    continue
                if not isinstance(path, str) or not path:
                    raise UsageError(f"event {i}: field 'data.path' must be a non-empty "
                                     "string; batch rejected, nothing stored")
                try:
                    record = await asyncio.to_thread(
                        self.take, task, path, kind, str(desc or e.summary), False, limit)
                except (UsageError, Conflict) as err:
                    raise UsageError(f"event {i}: {err.message}; batch rejected, nothing "
                                     "stored") from None
                taken.append(self.paths.task_artifacts(task["name"]) / record["stored"])
                out.append(AgentEvent(e.kind, e.attention, e.summary,
                                      _event_data(record), e.ts))
        except BaseException:
            for f in taken:
                f.unlink(missing_ok=True)
            raise
        return out

    def take(self, task: dict[str, Any], path: str, kind: str, description: str | None,
             outside: bool, limit: int) -> dict[str, Any]:
        """Check and copy a file (in a thread). Relative paths are taken from the task's
        worktree; symlinks are resolved before the check that the file is inside it."""
        if kind not in REGISTERED_KINDS:
            raise UsageError(f"unknown artifact kind {kind!r} (one of "
                             f"{', '.join(REGISTERED_KINDS)})")
        worktree = Path(task["worktree"])
        given = Path(path)
        if not given.is_absolute():
            given = worktree / given
        real = Path(os.path.realpath(given))
        if not outside:
            inside = Path(os.path.realpath(worktree))
            if real != inside and inside not in real.parents:
                through = " (through a symlink)" if Path(os.path.abspath(given)).is_relative_to(
                    inside) else ""
                raise UsageError(f"{path} is outside the worktree of {task['name']} "
                                 f"({worktree}){through}; pass --outside to register it anyway")
        try:
            st = os.stat(real)
        except FileNotFoundError:
            raise UsageError(f"{path}: no such file") from None
        except OSError as e:
            raise UsageError(f"{path}: cannot read it ({e.strerror})") from None
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{path} is not a regular file; register files one by one")
        if st.st_size > limit:
            raise UsageError(f"{path} is {st.st_size} bytes, over the artifact size limit of "
                             f"{limit} bytes (artifact_max_bytes in {self.paths.config})")
        folder = self.paths.task_artifacts(task["name"])
        folder.mkdir(parents=True, exist_ok=True)
        stored = f"{secrets.token_hex(4)}-{_safe_name(real.name)}"
        target = folder / stored
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            src = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as e:
            raise UsageError(f"{path}: cannot read it ({e.strerror})") from None
        try:
            with os.fdopen(src, "rb") as f, open(target, "xb") as dst:
                while block := f.read(CHUNK):
                    size += len(block)
                    if size > limit:
                        raise UsageError(f"{path} grew past the artifact size limit of {limit} "
                                         f"bytes (artifact_max_bytes in {self.paths.config})")
                    if len(head) < 8192:
                        head += block[: 8192 - len(head)]
                    digest.update(block)
                    dst.write(block)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        mime = mimetypes.guess_type(real.name)[0] or (
            "text/plain" if _looks_text(head) else "application/octet-stream")
        data: dict[str, Any] = {}
        if kind == "test-results":
            try:
                data["tests"] = parse_junit(target)
            except UsageError as e:
                target.unlink(missing_ok=True)
                raise UsageError(f"{path}: {e.message}") from None
        summary = description or _default_summary(kind, real.name, data.get("tests"))
        return {"kind": kind, "path": str(real), "stored": stored, "size": size,
                "sha256": digest.hexdigest(), "mime": mime, "description": summary,
                "data": data}

    # -- reading ---------------------------------------------------------------------------

    def view(self, row: dict[str, Any]) -> dict[str, Any]:
        """An artifact as `list_artifacts` shows it (docs/protocol.md)."""
        data = row["data"]
        view = {"id": row["id"], "kind": row["kind"], "session": row["session_id"],
                "ts": iso(row["ts"]), "description": row["description"], "path": row["path"],
                "name": _shown_name(row), "size": row["size"], "sha256": row["sha256"],
                "mime": row["mime"], "stored": row["stored"] is not None}
        for key in ("tests", "commits", "files", "added", "removed"):
            if key in data:
                view[key] = data[key]
        return view

    def locate(self, task: dict[str, Any], artifact_id: int) -> tuple[dict[str, Any], Path]:
        row = self.store.artifact(task["id"], artifact_id)
        if row is None:
            raise TaskNotFound(f"task {task['name']} has no artifact {artifact_id} "
                               f"(see 'agent artifacts {task['name']}')")
        if row["stored"] is None:
            raise Conflict(f"artifact {artifact_id} of {task['name']} is a record without a "
                           "file; 'agent artifacts' shows all it holds")
        path = self.paths.task_artifacts(task["name"]) / row["stored"]
        if not path.is_file():
            raise Conflict(f"the file of artifact {artifact_id} is missing ({path})")
        return row, path


def _write(folder: Path, name: str, content: bytes, kind: str, mime: str, description: str,
           data: dict[str, Any]) -> dict[str, Any]:
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(content)
    os.replace(tmp, folder / name)
    return {"kind": kind, "path": None, "stored": name, "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(), "mime": mime,
            "description": description, "data": data}


def _event_data(record: dict[str, Any]) -> dict[str, Any]:
    return {"type": record["kind"], "path": record["path"], "stored": record["stored"],
            "size": record["size"], "sha256": record["sha256"], "mime": record["mime"],
            "description": record["description"], **record["data"]}


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._+-]", "_", name)[-100:].lstrip(".")
    return cleaned or "file"


def _shown_name(row: dict[str, Any]) -> str | None:
    if row["path"]:
        return Path(row["path"]).name
    return row["stored"]


def _looks_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start > len(head) - 4  # a character cut at the end of the sample
    return True


def _default_summary(kind: str, name: str, tests: dict[str, Any] | None) -> str:
    if tests is not None:
        return (f"{name}: {tests['tests']} tests, {tests['failures']} failures, "
                f"{tests['errors']} errors, {tests['skipped']} skipped")
    return f"{kind} {name}"


# -- JUnit XML -------------------------------------------------------------------------------

def parse_junit(path: Path) -> dict[str, Any]:
    """Counts and failing case names of a JUnit XML report. A document type declaration
    (and with it every entity trick, billion laughs included) is refused before
    ElementTree sees the file; so is a file over MAX_XML_BYTES."""
    size = path.stat().st_size
    if size > MAX_XML_BYTES:
        raise UsageError(f"test results over {MAX_XML_BYTES} bytes are not parsed; "
                         "register it with --kind file")
    raw = path.read_bytes()
    _refuse_doctype(raw)
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as e:
        raise UsageError(f"not valid XML ({e}); JUnit XML expected") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise UsageError(f"not JUnit XML: the root element is <{root.tag[:40]}>, not "
                         "<testsuites> or <testsuite>")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    failing: list[str] = []
    cases = list(root.iter("testcase"))
    for case in cases:
        counts["tests"] += 1
        outcome = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), None)
        if outcome == "failure":
            counts["failures"] += 1
        elif outcome == "error":
            counts["errors"] += 1
        elif outcome == "skipped":
            counts["skipped"] += 1
        if outcome in ("failure", "error") and len(failing) < MAX_FAILING_NAMES:
            cls, name = case.get("classname"), case.get("name") or "?"
            failing.append(f"{cls}.{name}" if cls else name)
    if not cases:  # a summary-only report: trust the suites' attributes
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        for suite in suites:
            for key in counts:
                try:
                    counts[key] += int(suite.get(key) or suite.get(
                        "disabled" if key == "skipped" else key) or 0)
                except ValueError:
                    raise UsageError(f"not JUnit XML: <testsuite {key}=...> is not a "
                                     "number") from None
    return {**counts, "failing": failing}


def _refuse_doctype(raw: bytes) -> None:
    def refuse(*_: Any) -> None:
        raise UsageError("test results with a DOCTYPE or entity declarations are refused "
                         "(JUnit XML needs neither)")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as e:
        raise UsageError(f"not valid XML ({e}); JUnit XML expected") from None
