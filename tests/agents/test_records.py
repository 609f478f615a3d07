"""Agents' own record files offline: fixtures per agent (tests/agents/fixtures/<agent>/records/)
read by the daemon's watcher into a real store, in two steps (the last line is half-written
first), against hand-written expectations: the calls, the task's totals, the cost
genai-prices gives, the bad lines skipped once, and the thread."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import genai_prices
import pytest

from agentd.agents.claude_records import project_dir_name
from agentd.config import Config
from agentd.daemon.records import RecordWatcher
from agentd.daemon.threads import pair_tools
from agentd.jsonlog import JsonLog
from agentd.pricing import Pricer
from agentd.store.db import Store

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "state.db")
    s.price = Pricer(lambda: Config(path=tmp_path / "config.toml", agents={}))
    try:
        yield s
    finally:
        s.close()


def start(store: Store, tmp_path: Path, agent: str, roots: list[str]) -> tuple[dict[str, Any],
                                                                            dict[str, Any]]:
    worktree = tmp_path / "worktrees" / "t1"
    worktree.mkdir(parents=True)
    task = store.insert_task(name="t1", agent=agent, prompt="p", workspace="/r", base="main",
                             base_commit="c0", branch="agent/t1", worktree=str(worktree))
    store.add_session(task["id"], "s1", [agent], agent, "p",
                      records={"integration": agent, "agent": agent, "roots": roots})
    store.session_started("s1", os.getpid(), None)
    session = store.session("s1")
    assert session is not None
    return task, session


def usage_rows(store: Store) -> list[dict[str, Any]]:
    return [dict(r) for r in store.db.execute(
        "SELECT call_key, model, tokens_in, tokens_out, cache_read, cache_write, cost_usd, "
        "price_source FROM usage ORDER BY ts, id")]


def library_price(model: str, i: int, o: int, cr: int, cw: int, ts: float) -> float:
    usage = genai_prices.Usage(input_tokens=i + cr + cw, output_tokens=o, cache_read_tokens=cr,
                               cache_write_tokens=cw)
    return float(genai_prices.calc_price(usage, model,
                                         genai_request_timestamp=datetime.fromtimestamp(ts, UTC)
                                         ).total_price)


def thread_view(store: Store, task_id: int) -> list[list[Any]]:
    out = []
    for e in pair_tools(store.thread(task_id)):
        if e["kind"] == "tool_call":
            out.append([e["role"], e["kind"], e["tool"], e["args"], e["result"]["output"]])
        elif e["kind"] != "exit":
            out.append([e["role"], e["kind"], e["text"]])
    return out


def skipped(store: Store) -> list[dict[str, Any]]:
    return [e for e in store.events() if e["kind"] == "record_skipped"]


def read_all(store: Store, session: dict[str, Any]) -> None:
    """Read as the watcher does, look after look, until a look reads nothing more (a big
    file takes several); then once more, which must change nothing."""
    watcher = RecordWatcher(store, JsonLog(Path(os.devnull), "test"))
    for _ in range(100):
        before = store.record_files(session["task_id"])
        watcher.read_session(session, discover=True, force=True)
        if store.record_files(session["task_id"]) == before:
            return
    raise AssertionError("the record files were still being read after 100 looks")


def test_claude_transcripts(store: Store, tmp_path: Path) -> None:
    src = FIXTURES / "claude" / "records"
    expected = json.loads((src / "expected.json").read_text())
    home = tmp_path / "claude-home"
    task, session = start(store, tmp_path, "claude", [str(home)])
    project = home / "projects" / project_dir_name(task["worktree"])
    project.mkdir(parents=True)
    shutil.copy(src / "session-1.jsonl", project)
    shutil.copytree(src / "session-1", project / "session-1", copy_function=shutil.copy)

    read_all(store, session)
    rows = usage_rows(store)
    assert {r["call_key"]: [r["model"], r["tokens_in"], r["tokens_out"], r["cache_read"],
                            r["cache_write"]] for r in rows} == expected["calls"]
    assert len(skipped(store)) == expected["bad_lines"]

    with (project / "session-1.jsonl").open("a") as f:  # the half-written line completes
        f.write((src / "session-1.rest").read_text())
    read_all(store, session)
    rows = usage_rows(store)
    calls = {**expected["calls"], **expected["calls_after_rest"]}
    assert {r["call_key"]: [r["model"], r["tokens_in"], r["tokens_out"], r["cache_read"],
                            r["cache_write"]] for r in rows} == calls
    assert len(skipped(store)) == expected["bad_lines"]  # warned once, not on every read

    t = store.task_by_id(task["id"])
    figures = list(calls.values())
    assert t["tokens_out"] == sum(c[2] for c in figures)
    assert t["tokens_cache_read"] == sum(c[3] for c in figures)
    assert t["tokens_cache_write"] == sum(c[4] for c in figures)
    assert t["tokens_in"] == sum(c[1] + c[3] + c[4] for c in figures)
    for r in rows:
        ts = store.db.execute("SELECT ts FROM usage WHERE call_key = ?",
                              (r["call_key"],)).fetchone()[0]
        assert r["cost_usd"] == pytest.approx(library_price(
            r["model"], r["tokens_in"], r["tokens_out"], r["cache_read"], r["cache_write"], ts))
        assert r["price_source"] == f"genai-prices {genai_prices.__version__}"
    assert t["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in rows))
    assert t["unpriced_calls"] == 0
    assert thread_view(store, task["id"]) == expected["thread"]


def test_codex_rollouts(store: Store, tmp_path: Path) -> None:
    src = FIXTURES / "codex" / "records"
    expected = json.loads((src / "expected.json").read_text())
    home = tmp_path / "codex-home"
    task, session = start(store, tmp_path, "codex", [str(home)])
    day = home / "sessions" / time.strftime("%Y/%m/%d")
    day.mkdir(parents=True)
    for f in sorted(src.glob("rollout-*.jsonl")):
        text = f.read_text().replace("{WORKTREE}", task["worktree"])
        (day / f.name).write_text(text)
    # Another task's rollout in the same directory is not this task's.
    (day / "rollout-other.jsonl").write_text(json.dumps(
        {"timestamp": "2026-12-01T10:00:00.000Z", "type": "session_meta",
         "payload": {"id": "x", "cwd": "/elsewhere"}}) + "\n")

    read_all(store, session)
    figures = [[r["tokens_in"], r["tokens_out"], r["cache_read"], r["cache_write"]]
               for r in usage_rows(store)]
    assert figures == expected["calls"]
    assert len(skipped(store)) == expected["bad_lines"]

    main = next(day.glob("rollout-*0001.jsonl"))
    with main.open("a") as f:
        f.write((src / "rollout-main.rest").read_text())
    read_all(store, session)
    rows = usage_rows(store)
    figures = [[r["tokens_in"], r["tokens_out"], r["cache_read"], r["cache_write"]]
               for r in rows]
    assert sorted(figures) == sorted(expected["calls"] + expected["calls_after_rest"])
    assert {r["model"] for r in rows} == {expected["model"]}
    assert len(skipped(store)) == expected["bad_lines"]
    t = store.task_by_id(task["id"])
    assert t["tokens_out"] == sum(f[1] for f in figures)
    assert t["tokens_in"] == sum(f[0] + f[2] + f[3] for f in figures)
    assert t["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in rows))
    assert thread_view(store, task["id"]) == expected["thread"]


def test_an_unknown_model_has_tokens_and_no_cost(store: Store, tmp_path: Path) -> None:
    home = tmp_path / "claude-home"
    task, session = start(store, tmp_path, "claude", [str(home)])
    project = home / "projects" / project_dir_name(task["worktree"])
    project.mkdir(parents=True)
    (project / "s.jsonl").write_text(json.dumps(
        {"type": "assistant", "uuid": "a", "requestId": "r", "timestamp": "2026-12-01T10:00:00Z",
         "message": {"id": "m", "role": "assistant", "model": "claude-nobody-knows-9",
                     "content": [], "usage": {"input_tokens": 7, "output_tokens": 3}}}) + "\n")
    read_all(store, session)
    t = store.task_by_id(task["id"])
    assert (t["tokens_in"], t["tokens_out"], t["cost_usd"], t["unpriced_calls"]) == (
        7, 3, None, 1)


def test_a_recorded_claude_transcript_agrees_with_claude_codes_own_totals(
        store: Store, tmp_path: Path) -> None:
    """A transcript recorded from Claude Code 2.1.330 ends with its own `cost-state` line:
    its per-model token counts must be ours, and genai-prices' cost its cost."""
    recorded = FIXTURES / "claude" / "records" / "recorded-2.1.330.jsonl"
    home = tmp_path / "claude-home"
    task, session = start(store, tmp_path, "claude", [str(home)])
    project = home / "projects" / project_dir_name(task["worktree"])
    project.mkdir(parents=True)
    shutil.copy(recorded, project)
    read_all(store, session)
    own = [json.loads(line) for line in recorded.read_text().splitlines()
           if '"cost-state"' in line][-1]
    (model, figures), = own["modelUsage"].items()
    t = store.task_by_id(task["id"])
    assert t["tokens_out"] == figures["outputTokens"]
    assert t["tokens_in"] == figures["inputTokens"] + figures["cacheReadInputTokens"] + \
        figures["cacheCreationInputTokens"]
    assert {r["model"] for r in usage_rows(store)} == {model}
    assert t["cost_usd"] == pytest.approx(own["totalCostUSD"], abs=1e-6)
    assert [e[:2] for e in thread_view(store, task["id"])] == [
        ["user", "prompt"], ["assistant", "tool_call"], ["assistant", "result"]]


def call_figures(store: Store) -> dict[str, list[Any]]:
    return {r["call_key"]: [r["model"], r["tokens_in"], r["tokens_out"], r["cache_read"],
                            r["cache_write"]] for r in usage_rows(store)}


def test_gemini_chat_recordings(store: Store, tmp_path: Path) -> None:
    src = FIXTURES / "gemini" / "records"
    expected = json.loads((src / "expected.json").read_text())
    home = tmp_path / "gemini-home"
    task, session = start(store, tmp_path, "gemini", [str(home / ".gemini")])
    project = home / ".gemini" / "tmp" / hashlib.sha256(task["worktree"].encode()).hexdigest()
    (project / "chats").mkdir(parents=True)
    chat = project / "chats" / "session-2026-12-01T10-00-6577c6cc.jsonl"
    shutil.copy(src / chat.name, chat)

    read_all(store, session)
    session_id = "6577c6cc-0000-4000-8000-000000000001"
    assert call_figures(store) == {f"gemini:{session_id}:{k}": v
                                   for k, v in expected["calls"].items()}
    assert len(skipped(store)) == expected["bad_lines"]
    assert thread_view(store, task["id"]) == expected["thread"]
    with chat.open("a") as f:
        f.write((src / "session.rest").read_text())
    read_all(store, session)
    assert thread_view(store, task["id"]) == expected["thread"] + expected["thread_after_rest"]
    assert len(skipped(store)) == expected["bad_lines"]
    t = store.task_by_id(task["id"])
    assert t["tokens_out"] == sum(c[2] for c in expected["calls"].values())
    assert t["cost_usd"] == pytest.approx(sum(
        library_price(m, i, o, cr, cw, datetime(2026, 12, 1, 10, tzinfo=UTC).timestamp())
        for m, i, o, cr, cw in expected["calls"].values()))


OPENCODE_SCHEMA = """
CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT, parent_id TEXT, directory TEXT,
    title TEXT, time_created INTEGER, time_updated INTEGER);
CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT, time_created INTEGER,
    time_updated INTEGER, data TEXT);
CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT, session_id TEXT,
    time_created INTEGER, time_updated INTEGER, data TEXT);
"""


def opencode_rows(db: sqlite3.Connection, rows: dict[str, list[dict[str, Any]]],
                  worktree: str) -> None:
    for table, items in rows.items():
        for item in items:
            item = {k: json.dumps(v).replace("{WORKTREE}", worktree) if k == "data" else
                    (worktree if v == "{WORKTREE}" else v) for k, v in item.items()}
            db.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(item)}) VALUES "
                       f"({', '.join('?' for _ in item)})", tuple(item.values()))
    db.commit()


def test_opencode_database(store: Store, tmp_path: Path) -> None:
    expected = json.loads((FIXTURES / "opencode" / "records" / "expected.json").read_text())
    data = tmp_path / "opencode-data"
    data.mkdir()
    task, session = start(store, tmp_path, "opencode", [str(data)])
    db = sqlite3.connect(data / "opencode.db")
    try:
        db.executescript(OPENCODE_SCHEMA)
        now_ms = int(time.time() * 1000)
        for rows in (expected["first"], expected["second"]):
            for items in rows.values():  # the fixture's times, moved to now
                for item in items:
                    item["time_updated"] += now_ms - 1796119200000
        opencode_rows(db, expected["first"], task["worktree"])
        read_all(store, session)
        assert call_figures(store) == expected["calls_first"]
        opencode_rows(db, expected["second"], task["worktree"])
        read_all(store, session)
        assert call_figures(store) == expected["calls"]
    finally:
        db.close()
    assert thread_view(store, task["id"]) == expected["thread"]
    t = store.task_by_id(task["id"])
    (m, i, o, cr, cw), = expected["calls"].values()
    assert t["cost_usd"] == pytest.approx(library_price(m, i, o, cr, cw, 1796119201.0))


def test_a_recorded_codex_rollout_agrees_with_its_own_totals(store: Store,
                                                             tmp_path: Path) -> None:
    """A rollout recorded from Codex 0.169.0 (tests/agents/test_real_clis.py; lines over 3000
    bytes dropped): our totals are its last cumulative total, its thread ours."""
    recorded = FIXTURES / "codex" / "records" / "recorded-0.169.0.jsonl"
    home = tmp_path / "codex-home"
    task, session = start(store, tmp_path, "codex", [str(home)])
    day = home / "sessions" / time.strftime("%Y/%m/%d")
    day.mkdir(parents=True)
    (day / "rollout-recorded.jsonl").write_text(
        recorded.read_text().replace("{WORKTREE}", task["worktree"]))
    read_all(store, session)
    lines = [json.loads(line) for line in recorded.read_text().splitlines()]
    own = [x["payload"]["info"]["total_token_usage"] for x in lines
           if x["payload"].get("type") == "token_count"][-1]
    t = store.task_by_id(task["id"])
    assert (t["tokens_in"], t["tokens_cache_read"], t["tokens_out"]) == (
        own["input_tokens"], own["cached_input_tokens"], own["output_tokens"])
    assert thread_view(store, task["id"]) == [
        ["user", "prompt", "Please create an empty file named hello.txt"],
        ["assistant", "tool_call", "exec_command", "touch hello.txt",
         "Chunk ID: c90f77\nWall time: 0.0000 seconds\nProcess exited with code 0\n"
         "Original token count: 0\nOutput:\n"],
        ["assistant", "result", "Created hello.txt."]]


def test_a_prices_table_in_config_wins_over_genai_prices(tmp_path: Path) -> None:
    rates = {"input": 1.0, "output": 2.0, "cache_read": 0.5, "cache_write": 3.0}
    store = Store(tmp_path / "state.db")
    store.price = Pricer(lambda: Config(path=tmp_path / "config.toml", agents={},
                                        prices={"claude-opus-5-5": rates}))
    try:
        home = tmp_path / "claude-home"
        task, session = start(store, tmp_path, "claude", [str(home)])
        project = home / "projects" / project_dir_name(task["worktree"])
        project.mkdir(parents=True)
        shutil.copy(FIXTURES / "claude" / "records" / "session-1.jsonl", project)
        read_all(store, session)
        rows = usage_rows(store)
        assert {r["price_source"] for r in rows} == {"config"}
        for r in rows:
            assert r["cost_usd"] == pytest.approx(
                (r["tokens_in"] * 1 + r["tokens_out"] * 2 + r["cache_read"] * 0.5
                 + r["cache_write"] * 3) / 1e6)
    finally:
        store.close()


def test_pricing_needs_no_network_and_starts_no_updater() -> None:
    """genai-prices prices from the snapshot in its package: with every socket refused,
    a call is priced, and no thread (its UpdatePrices) is left running."""
    code = """
import socket, threading
def refuse(*a, **k):
    raise OSError("no network in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from agentd.pricing import library_cost
from agentd.records import Call
cost, source = library_cost(Call("k", 1796119200.0, "claude-opus-5-5", input=1000, output=10))
assert cost and cost > 0, cost
assert threading.active_count() == 1, threading.enumerate()
print(source)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == f"genai-prices {genai_prices.__version__}" == "genai-prices 0.2.3"


def test_the_prices_table_is_read_again_when_config_changes(tmp_path: Path) -> None:
    from agentd import config as agentd_config
    from agentd.records import Call

    path = tmp_path / "config.toml"
    pricer = Pricer(lambda: agentd_config.load(path))
    call = Call("k", None, "mine-1", input=1_000_000)
    assert pricer(call) == (None, f"genai-prices {genai_prices.__version__}")
    path.write_text('[prices."mine-1"]\ninput = 3\noutput = 4\n')
    assert pricer(call) == (3.0, "config")
    path.write_text('[prices."mine-1"]\ninput = 12.5\noutput = 4\n')
    assert pricer(call) == (12.5, "config")


def test_a_line_longer_than_one_read_counts_and_a_big_file_is_read_in_parts(
        store: Store, tmp_path: Path) -> None:
    home = tmp_path / "claude-home"
    task, session = start(store, tmp_path, "claude", [str(home)])
    project = home / "projects" / project_dir_name(task["worktree"])
    project.mkdir(parents=True)

    def line(i: int, content: str) -> str:
        return json.dumps({"type": "assistant", "uuid": f"a{i}", "requestId": f"r{i}",
                           "timestamp": "2026-12-01T10:00:00Z", "message": {
                               "id": f"m{i}", "role": "assistant", "model": "claude-opus-5-5",
                               "content": [{"type": "tool_use", "id": f"t{i}", "name": "Write",
                                            "input": {"file_path": "/x", "content": content}}],
                               "usage": {"input_tokens": i, "output_tokens": 1}}}) + "\n"

    # 3 MiB in one line (a big Write), then 3 MiB more in small lines.
    text = line(1, "y" * (3 << 20)) + "".join(line(i, "z" * 1000) for i in range(2, 3000))
    (project / "big.jsonl").write_text(text)
    read_all(store, session)
    t = store.task_by_id(task["id"])
    assert t["tokens_out"] == 2999
    assert t["tokens_in"] == sum(range(1, 3000))
    assert skipped(store) == []
