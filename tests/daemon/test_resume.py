"""A task with more than one session: `agent resume` (a new session of the task's agent in
the same worktree, continuing its conversation where the agent can), `agent run --task`
(another agent beside it), `agent show` (the task's card) — real daemon, git, PTYs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import QUICK_CONFIG
from tests.helpers import Env, wait_for

# Writes what it was started with to $OUT/<session>.*: its AGENTD_* variables and MARK,
# its working directory and its arguments.
RECORD = ('o="$OUT/$AGENTD_SESSION_ID"; env | grep -E "^(AGENTD_|MARK=)" | sort > "$o.env"; '
          'pwd > "$o.cwd"; printf "%s\\n" "$@" > "$o.argv"')
# A stand-in for Claude Code: run as integration "claude" (so agentd gives it --settings and
# resumes it with --resume ID), it records its argv, and its "hook" reports a session id
# the way Claude Code's hooks do, through `agent hook claude` with the payload on stdin.
FAKE_CLAUDE_HOOK = json.dumps({"session_id": "c0ffee00-1111-2222-3333-444455556666",
                               "hook_event_name": "UserPromptSubmit", "prompt": "start"})
CONFIG = QUICK_CONFIG + f"""
[agents.recorder]
command = "sh"
args = ["-c", {json.dumps(RECORD)}, "sh"]

[agents.fakeclaude]
command = "FAKE_CLAUDE"
integration = "claude"

[agents.waiter]
command = "sh"
args = ["-c", "read answer; exit 0"]
prompt = "none"
"""


@pytest.fixture
def out(env: Env) -> Path:
    script = env.root.parent / "fake-claude"
    script.write_text(f"#!/bin/sh\n{RECORD}\n"
                      'printf %s "$HOOK_PAYLOAD" | "$PY" -m agentd hook claude\n')
    script.chmod(0o755)
    env.write_config(CONFIG.replace("FAKE_CLAUDE", str(script)))
    path = env.root.parent / "out"
    path.mkdir()
    return path


def show(env: Env, name: str) -> dict[str, Any]:
    card: dict[str, Any] = env.ok("show", name, "--json").json()
    return card


def recorded(out: Path, session: str, what: str) -> list[str]:
    return (out / f"{session}.{what}").read_text().splitlines()


def agent_env(out: Path, **extra: str) -> dict[str, str]:
    return {"OUT": str(out), "PY": sys.executable, "HOOK_PAYLOAD": FAKE_CLAUDE_HOOK, **extra}


def test_resume_of_a_completed_task_starts_a_second_session_in_the_same_worktree(
        env: Env, repo: Path, out: Path) -> None:
    env.ok("run", "--agent", "recorder", "--name", "r", "first", "prompt", cwd=repo,
           env=agent_env(out, MARK="from-run"))
    first = env.wait_status("r", "completed")["session"]
    r = env.ok("resume", "r", "next", "step", env=agent_env(out, MARK="from-resume"))
    # A plain command has no conversation of its own: a fresh session got the prompt.
    assert r.out.splitlines()[0] == ("resumed r: recorder cannot continue its conversation, "
                                     "so a fresh session got the prompt")
    t = env.wait_status("r", "completed")
    second = t["session"]
    assert second != first
    assert recorded(out, second, "argv") == ["next step"]
    assert recorded(out, second, "cwd") == recorded(out, first, "cwd") == [t["worktree"]]
    before, after = (dict(line.split("=", 1) for line in recorded(out, s, "env"))
                     for s in (first, second))
    assert after.pop("AGENTD_SESSION_ID") == second and before.pop("AGENTD_SESSION_ID") == first
    # The resume's own environment is the agent's (MARK), the AGENTD_* ones are the task's.
    assert (before.pop("MARK"), after.pop("MARK")) == ("from-run", "from-resume")
    assert before == after and after["AGENTD_WORKTREE"] == t["worktree"]
    assert after["AGENTD_TASK"] == "r" and after["AGENTD_BRANCH"] == "agent/r"
    # agent ls shows the task once, with its latest session's status.
    listed = [x for x in env.ok("ls", "--all", "--json").json() if x["name"] == "r"]
    assert [(x["session"], x["status"]) for x in listed] == [(second, "completed")]
    card = show(env, "r")
    assert [(s["id"], s["seq"], s["agent"], s["prompt"], s["exit_code"], s["live"], s["resumes"])
            for s in card["sessions"]] == [
        (first, 1, "recorder", "first prompt", 0, False, None),
        (second, 2, "recorder", "next step", 0, False, None)]
    assert card["agents"] == ["recorder"]
    changes = [(e["data"]["from"], e["data"]["to"]) for e in card["events"]
               if e["kind"] == "status_changed"]
    assert changes[-2:] == [("completed", "running"), ("running", "completed")]


def test_resume_continues_the_conversation_the_agents_hook_reported(
        env: Env, repo: Path, out: Path) -> None:
    env.ok("run", "--agent", "fakeclaude", "--name", "fc", "hello", cwd=repo,
           env=agent_env(out))
    first = env.wait_status("fc", "completed")["session"]
    conversation = "c0ffee00-1111-2222-3333-444455556666"
    wait_for(lambda: show(env, "fc")["sessions"][0]["agent_session_id"], 10,
             "the hook's conversation id")
    assert show(env, "fc")["sessions"][0]["agent_session_id"] == conversation
    r = env.ok("resume", "fc", "go", "on", env=agent_env(out))
    assert r.out.splitlines()[0] == (f"resumed fc: fakeclaude continues its conversation of "
                                     f"session {first}")
    second = env.wait_status("fc", "completed")["session"]
    argv = recorded(out, second, "argv")
    settings = str(env.root / "sessions" / f"{second}.claude-settings.json")
    assert argv == ["--settings", settings, "--resume", conversation, "go on"]
    assert recorded(out, first, "argv") == [
        "--settings", str(env.root / "sessions" / f"{first}.claude-settings.json"), "hello"]
    sessions = show(env, "fc")["sessions"]
    assert [s["resumes"] for s in sessions] == [None, first]
    # Named by its id, an earlier session is the one whose conversation continues.
    env.ok("resume", first, "once", "more", env=agent_env(out))
    third = env.wait_status("fc", "completed")["session"]
    assert [s["resumes"] for s in show(env, "fc")["sessions"]] == [None, first, first]
    assert recorded(out, third, "argv")[2:] == ["--resume", conversation, "once more"]
    # The hook reported the id once per session, as a `conversation` event.
    reports = [e for e in map(json.loads, env.ok("events", "fc", "--json").out.splitlines())
               if e["kind"] == "conversation"]
    assert [(e["session"], e["data"]["id"]) for e in reports] == [
        (first, conversation), (second, conversation), (third, conversation)]


def test_refusals_are_one_line_and_create_nothing(env: Env, repo: Path, out: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "busy", cwd=repo)
    env.wait_status("busy", "running")
    env.ok("run", "--agent", "true", "--name", "done", cwd=repo)
    env.wait_status("done", "completed")
    before = {n: show(env, n) for n in ("busy", "done")}
    cases = [
        (("resume", "busy", "more"), 4, "agent: error: task busy is still running; attach "
                                        "to it (agent attach busy) or stop it first (agent "
                                        "kill busy)"),
        (("resume", "nope"), 3, "agent: error: no task or session named 'nope' (see 'agent "
                                "ls --all')"),
        (("resume", "done", "--agent", "quick"), 4,
         "agent: error: task done has no quick session to resume; add one with 'agent run "
         "--task done --agent quick PROMPT'"),
        (("resume", "done", "--agent", "nosuch"), 7, None),
        (("run", "--task", "done", "--name", "x", "hi"), 2,
         "agent: error: --task adds a session to an existing task (its worktree, branch and "
         "base); drop --name"),
        (("run", "--task", "nope", "hi"), 3, None),
    ]
    for args, code, message in cases:
        r = env.agent(*args)
        assert (r.code, r.out) == (code, ""), (args, r)
        assert len(r.err.splitlines()) == 1, (args, r.err)
        if message:
            assert r.err.strip() == message
    # The worktree is gone: nothing to resume in.
    worktree = Path(before["done"]["worktree"])
    shutil.rmtree(worktree)
    r = env.agent("resume", "done", "again")
    assert r.code == 4 and r.out == ""
    assert r.err.strip() == (f"agent: error: the worktree of done is gone ({worktree}); "
                             "nothing to resume in (remove the task with 'agent kill --rm "
                             "done')")
    r = env.agent("run", "--task", "done", "--agent", "quick", "review")
    assert r.code == 4 and "the worktree of done is gone" in r.err
    after = {n: show(env, n) for n in ("busy", "done")}
    for n in after:
        assert after[n]["sessions"] == before[n]["sessions"], n
        assert after[n]["status"] == before[n]["status"]
    assert not worktree.exists()
    env.ok("kill", "busy")


def test_run_task_adds_another_agent_and_the_last_session_to_end_decides(
        env: Env, repo: Path, out: Path) -> None:
    env.ok("run", "--agent", "waiter", "--name", "pair", cwd=repo)
    first = env.wait_status("pair", "running")["session"]
    r = env.ok("run", "--task", "pair", "--agent", "fail", "--json")
    added = r.json()
    assert (added["session_agent"], added["resumed"], added["start_error"]) == (
        "fail", None, None)
    second = added["session"]
    # The reviewer failed while the first session still runs: the task runs on.
    wait_for(lambda: not show(env, "pair")["sessions"][1]["live"], 15, "the second to end")
    card = show(env, "pair")
    assert card["status"] == "running"
    assert [(s["id"], s["agent"], s["live"], s["exit_code"]) for s in card["sessions"]] == [
        (first, "waiter", True, None), (second, "fail", False, 3)]
    assert card["agents"] == ["waiter", "fail"]
    # The first session, reached by its id, ends last: its exit decides.
    env.ok("send-input", first, "--", "ok")
    t = env.wait_status("pair", "completed")
    assert t["exit_code"] == 0 and t["session"] == second  # the latest session still names it
    listed = [x["name"] for x in env.ok("ls", "--json").json()]
    assert listed.count("pair") == 1
    # Added to the ended task, an agent runs it again.
    env.ok("run", "--task", "pair", "--agent", "quick", "look", "again")
    env.wait_status("pair", "completed")
    assert [s["agent"] for s in show(env, "pair")["sessions"]] == ["waiter", "fail", "quick"]


def test_kill_stops_every_live_session_of_the_task(env: Env, repo: Path, out: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "two", cwd=repo)
    env.wait_status("two", "running")
    env.ok("run", "--task", "two", "--agent", "sleeper")
    wait_for(lambda: all(s.get("live") for s in show(env, "two")["sessions"]), 10, "both")
    env.ok("kill", "two")
    card = show(env, "two")
    assert card["status"] == "killed"
    assert [s["live"] for s in card["sessions"]] == [False, False]


def test_show_escapes_what_agents_wrote_and_json_stays_strict(env: Env, repo: Path,
                                                            out: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "loud", cwd=repo)
    session = env.wait_status("loud", "running")["session"]
    nasty = "\x1b[2J\x1b]0;pwned\x07red\u202etxt"
    inside = {"AGENTD_SESSION_ID": session, "AGENTD_SOCKET": str(env.root / "agentd.sock")}
    env.ok("emit", "--kind", "message", "--data",
           json.dumps({"role": "assistant", "content": nasty}), "said", "something",
           env=inside)
    env.ok("emit", "--attention", "action", f"look {nasty}", env=inside)
    text = env.ok("show", "loud").out
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[2J\\x1b]0;pwned\\x07red\\u202etxt" in text
    assert "live" in text and session in text
    card = json.loads(env.ok("show", "loud", "--json").out)  # strict JSON
    (entry,) = card["thread"]
    assert json.loads(entry["content"])["content"] == nasty
    assert card["attention_summary"] == f"look {nasty}"
    assert card["events"][-1]["summary"] == f"look {nasty}"
    env.ok("kill", "loud")


def test_show_lists_events_and_thread_tail_in_order(env: Env, repo: Path, out: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "talk", cwd=repo)
    session = env.wait_status("talk", "running")["session"]
    inside = {"AGENTD_SESSION_ID": session, "AGENTD_SOCKET": str(env.root / "agentd.sock")}
    for i in range(4):
        env.ok("emit", "--kind", "message", "--data",
               json.dumps({"role": "user" if i % 2 else "assistant", "content": f"m{i}"}),
               f"message {i}", env=inside)
    card = env.ok("show", "talk", "--json", "--events", "3", "--thread", "2").json()
    assert [e["summary"] for e in card["events"]] == ["message 1", "message 2", "message 3"]
    assert [(x["role"], json.loads(x["content"])["content"]) for x in card["thread"]] == [
        ("assistant", "m2"), ("user", "m3")]
    text = env.ok("show", "talk", "--thread", "2").out
    assert text.index("m2") < text.index("m3")
    r = env.agent("show", "talk", "--events", "-1")
    assert r.code == 2 and r.err.strip() == ("agent: error: show_task: parameter 'events' "
                                             "must be an integer from 0 to 1000")
    env.ok("kill", "talk")
