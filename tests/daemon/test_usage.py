"""Usage and the thread read by a real daemon from a transcript that grows: an agent with the
Claude Code integration (a script standing in for it) writes its transcript line by line
and fires a Stop hook before its last line is written; the daemon counts every line once,
the late ones too, skips a corrupt line with one warning, waits for a half-written one,
and prices with genai-prices. `agent usage` and `agent thread` show it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import genai_prices
import pytest

from tests.helpers import AGENT as AGENT_CLI
from tests.helpers import Env, wait_for

AGENT = r'''
import json, os, pathlib, re, subprocess, sys, time
cwd = os.getcwd()
project = pathlib.Path(os.environ["CLAUDE_CONFIG_DIR"], "projects",
                       re.sub(r"[^a-zA-Z0-9]", "-", cwd))
project.mkdir(parents=True)
transcript = project / "0001.jsonl"
gate = pathlib.Path(sys.argv[1])

def line(mid, text, usage, stop="end_turn"):
    return json.dumps({"type": "assistant", "uuid": mid, "requestId": "req_" + mid,
                       "timestamp": "2026-12-01T10:00:00.000Z", "isSidechain": False,
                       "message": {"id": mid, "role": "assistant", "model": "claude-sonnet-4-6",
                                   "content": [{"type": "text", "text": text}],
                                   "stop_reason": stop, "usage": usage}}) + "\n"

def write(text):
    with transcript.open("a") as f:
        f.write(text)

def wait(name):
    while not (gate / name).exists():
        time.sleep(0.02)

write(json.dumps({"type": "user", "uuid": "u1", "timestamp": "2026-12-01T09:59:59.000Z",
                  "message": {"role": "user", "content": "say hello"}}) + "\n")
write(line("msg_a", "Hello.", {"input_tokens": 10, "output_tokens": 5,
                               "cache_read_input_tokens": 1000,
                               "cache_creation_input_tokens": 200}))
stop = {"hook_event_name": "Stop", "transcript_path": str(transcript),
        "last_assistant_message": "Hello again."}
subprocess.run([sys.executable, "-m", "agentd", "hook", "claude"], input=json.dumps(stop),
               text=True, check=True)
wait("go")  # the turn's last lines, written after its Stop hook fired
write(line("msg_b", "Hello again.", {"input_tokens": 3, "output_tokens": 7,
                                     "cache_read_input_tokens": 1210,
                                     "cache_creation_input_tokens": 0}))
write('{"type": "assistant", "message": {"id": "msg_x", "usage": {"input_tok\n')
half = line("msg_c", "Bye.", {"input_tokens": 1, "output_tokens": 2,
                             "cache_read_input_tokens": 1217, "cache_creation_input_tokens": 0})
write(half[:30])
wait("go2")
write(half[30:])
wait("done")
'''

CALLS = {"msg_a": (10, 5, 1000, 200), "msg_b": (3, 7, 1210, 0), "msg_c": (1, 2, 1217, 0)}


def price(*names: str) -> float:
    total = 0.0
    for name in names:
        i, o, cr, cw = CALLS[name]
        total += float(genai_prices.calc_price(
            genai_prices.Usage(input_tokens=i + cr + cw, output_tokens=o, cache_read_tokens=cr,
                               cache_write_tokens=cw), "claude-sonnet-4-6",
            provider_id="anthropic",
            genai_request_timestamp=datetime(2026, 12, 1, 10, tzinfo=UTC)).total_price)
    return total


def figures(*names: str) -> dict[str, int]:
    rows = [CALLS[n] for n in names]
    return {"input_tokens": sum(r[0] for r in rows), "output_tokens": sum(r[1] for r in rows),
            "cache_read_tokens": sum(r[2] for r in rows),
            "cache_write_tokens": sum(r[3] for r in rows)}


def usage(env: Env) -> dict[str, Any] | None:
    return env.task("u")["usage"]


def wait_usage(env: Env, *names: str) -> dict[str, Any]:
    want = figures(*names)
    return wait_for(lambda: env.task("u") if {k: (usage(env) or {}).get(k) for k in want}
                    == want else None, 20, f"usage of {names} (is {usage(env)})")


@pytest.fixture
def started(env: Env, repo: Path) -> Path:
    gate = env.root.parent / "gate"
    gate.mkdir()
    script = env.root.parent / "fake_claude.py"
    script.write_text(AGENT)
    launcher = env.root.parent / "fake-claude"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} {script} {gate}\n")
    launcher.chmod(0o755)
    env.write_config(f'[agents.fake]\ncommand = "{launcher}"\nintegration = "claude"\n'
                     'prompt = "none"\n')
    config_dir = env.root.parent / "claude-config"
    env.ok("run", "--agent", "fake", "--name", "u", "say hello", cwd=repo,
           env={"CLAUDE_CONFIG_DIR": str(config_dir)})
    return gate


def test_every_line_counts_once_also_those_written_after_the_stop_hook(
        env: Env, started: Path) -> None:
    gate = started
    follower = subprocess.Popen([*AGENT_CLI, "thread", "u", "--follow", "--json"],
                                env=env.env, stdout=subprocess.PIPE, text=True)
    followed: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: followed.extend(
        json.loads(line) for line in follower.stdout or ()), daemon=True)
    reader.start()
    t = wait_usage(env, "msg_a")
    assert t["cost_usd"] == pytest.approx(price("msg_a"))
    # The Stop hook's own "result" is an event, not a second thread entry.
    (gate / "go").touch()
    wait_usage(env, "msg_b", "msg_a")  # read because the file grew: no hook fired
    wait_for(lambda: [e for e in events(env) if e["kind"] == "record_skipped"], 20,
             "the corrupt line's warning")
    (gate / "go2").touch()
    t = wait_usage(env, "msg_a", "msg_b", "msg_c")
    assert t["tokens_in"] == sum(c[0] + c[2] + c[3] for c in CALLS.values())
    assert t["tokens_out"] == sum(c[1] for c in CALLS.values())
    assert t["cost_usd"] == pytest.approx(price("msg_a", "msg_b", "msg_c"))
    (gate / "done").touch()
    env.wait_status("u", "completed")
    skipped = [e for e in events(env) if e["kind"] == "record_skipped"]
    assert len(skipped) == 1 and skipped[0]["attention"] == "notice"

    entries = json.loads(env.ok("thread", "u", "--json").out)["entries"]
    expected = [("prompt", "say hello"), ("result", "Hello."), ("result", "Hello again."),
                ("result", "Bye."), ("exit", None)]
    assert [(e["kind"], e.get("text")) for e in entries] == expected
    try:  # --follow printed each entry once, as it came
        wait_for(lambda: len(followed) >= len(expected), 20, "the followed thread")
        assert [(e["kind"], e.get("text")) for e in followed] == expected
    finally:
        follower.kill()
        follower.wait()
        reader.join(10)
        if follower.stdout is not None:
            follower.stdout.close()
    assert entries[-1]["exit_code"] == 0
    text = env.ok("thread", "u").out
    assert "say hello" in text and "Bye." in text and "exit" in text

    report = json.loads(env.ok("usage", "--by", "model", "--json").out)
    (row,) = report["rows"]
    assert row["key"] == "claude-sonnet-4-6" and row["calls"] == 3
    assert {k: row[k] for k in figures()} == figures("msg_a", "msg_b", "msg_c")
    assert row["cost_usd"] == pytest.approx(price("msg_a", "msg_b", "msg_c"))
    assert json.loads(env.ok("usage", "--since", "2999-01-01", "--json").out)["total"] is None
    table = env.ok("usage", "u").out
    assert re.search(r"^total\s+3\s", table, re.M)
    listed = env.ok("ls").out
    assert re.search(r"\bu\s+fake\s+completed\s+\S+\s+3\.6k/14\s+<\$0\.01 ", listed), listed


def events(env: Env) -> list[dict[str, Any]]:
    return [json.loads(line) for line in env.ok("events", "u", "--json").out.splitlines()]


@pytest.mark.parametrize(("args", "message"), [
    (["usage", "--since", "yesterday"],
     "agent: error: --since 'yesterday' is not a date: give YYYY-MM-DD or an ISO date and "
     "time such as 2026-12-01T09:30\n"),
    (["usage", "nope"], "agent: error: no task or session named 'nope' (see 'agent ls --all')\n"),
    (["thread", "nope"], "agent: error: no task or session named 'nope' (see 'agent ls --all')\n"),
])
def test_bad_usage_and_thread_input_is_one_line(env: Env, args: list[str],
                                                message: str) -> None:
    r = env.agent(*args)
    assert r.code != 0 and r.err == message
