"""Events end to end: append_session_events, stream_events, attention, blocked detection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from agentd.errors import AgentdError, UsageError
from agentd.protocol.connection import Connection
from agentd.protocol.events import AGENT_KINDS
from agentd.protocol.messages import Push
from agentd.worker.screen import Screen
from agentd.worker.watch import ScreenWatch
from tests.helpers import AGENT, Env, scaled, wait_for


def session_of(env: Env, name: str) -> str:
    return str(env.task(name)["session"])


def daemon(env: Env) -> Connection:
    return Connection.open(env.root / "agentd.sock", timeout=scaled(30))


def event_count(env: Env) -> int:
    with env.db() as db:
        return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def ev(summary: str = "step", kind: str = "progress", **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "summary": summary, **extra}


REJECTED = "; batch rejected, nothing stored"
KNOWN = ", ".join(AGENT_KINDS)


@pytest.mark.parametrize("batch, message", [
    ([ev(), ev(kind="telepathy")], "event 1: field 'kind' has unknown kind 'telepathy' "
                                   f"(known: {KNOWN}; extensions use an 'x-' prefix){REJECTED}"),
    ([ev(), {"summary": "no kind"}],
     f"event 1: field 'kind' is required and must be a non-empty string{REJECTED}"),
    ([ev(attention="urgent")],
     f"event 0: field 'attention' must be one of info, notice, action{REJECTED}"),
    ([ev(summary="")],
     f"event 0: field 'summary' is required and must be a non-empty string{REJECTED}"),
    ([ev(colour="red")], "event 0: field 'colour' is unknown "
                         f"(allowed: attention, data, kind, summary, ts){REJECTED}"),
    ([ev(data=[1, 2])], f"event 0: field 'data' must be an object{REJECTED}"),
    ([ev(data={"blob": "x" * 70000})],
     f"event 0: field 'data' is larger than 65536 bytes as JSON{REJECTED}"),
    ([ev(kind="usage", data={"tokens_in": -5})],
     f"event 0: field 'data.tokens_in' must be a whole number ≥ 0{REJECTED}"),
    ([ev()] * 1001, "batch of 1001 events exceeds the limit of 1000"),
    ([], "'events' must be a non-empty list of event objects"),
    (["not an object"], f"event 0: must be an object{REJECTED}"),
])
def test_bad_batches_are_rejected_whole(env: Env, repo: Path, batch: list[Any],
                                        message: str) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "target", cwd=repo)
    sid = session_of(env, "target")
    before = event_count(env)
    with daemon(env) as conn, pytest.raises(UsageError) as err:
        conn.request("append_session_events", {"session": sid, "events": batch})
    assert str(err.value) == message
    assert event_count(env) == before
    assert env.task("target")["tokens_in"] is None


def test_oversized_frame_gets_an_error_and_the_daemon_lives(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "target", cwd=repo)
    import socket
    import struct

    s = socket.socket(socket.AF_UNIX)
    s.connect(str(env.root / "agentd.sock"))
    s.sendall(struct.pack(">BI", 1, 64 * 1024 * 1024) + b"{")
    s.settimeout(scaled(10))
    reply = s.recv(65536)
    assert b"exceeds" in reply
    s.close()
    assert env.status("target") == "running"  # the daemon still answers


def test_unknown_session_and_request(env: Env, repo: Path) -> None:
    env.ok("ls")
    with daemon(env) as conn:
        with pytest.raises(AgentdError, match="unknown session"):
            conn.request("append_session_events", {"session": "nope", "events": [ev()]})
        with pytest.raises(AgentdError, match="unknown request 'frobnicate'"):
            conn.request("frobnicate", {})


def test_batch_effects_usage_thread_artifacts_and_blocked(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "worker", cwd=repo)
    sid = session_of(env, "worker")
    report = env.root / "worktrees" / "worker" / "report.txt"
    report.write_text("the report\n")
    batch = [ev("hello", "message", data={"role": "assistant", "content": "hi"}),
             ev("tokens", "usage", data={"tokens_in": 2300, "tokens_out": 900,
                                         "cost_usd": 0.18, "model": "m"}),
             ev("report", "artifact", data={"path": "report.txt", "type": "report"}),
             ev("need a decision", "waiting")]
    with daemon(env) as conn:
        result = conn.request("append_session_events", {"session": sid, "events": batch})
    assert result["count"] == 4 and result["last_id"] - result["first_id"] == 3
    t = env.task("worker")
    assert (t["tokens_in"], t["tokens_out"], t["cost_usd"]) == (2300, 900, 0.18)
    assert t["status"] == "blocked"
    assert (t["attention"], t["attention_summary"]) == ("action", "need a decision")
    row = next(line for line in env.ok("ls").out.splitlines() if "worker" in line)
    assert row.startswith("⚠ worker") and "2.3k/900" in row and "$0.18" in row
    with env.db() as db:
        assert db.execute("SELECT COUNT(*) FROM thread_entries").fetchone()[0] == 1
        path, stored = db.execute("SELECT path, stored FROM artifacts").fetchone()
    assert path == os.path.realpath(report)  # copied by the daemon (docs/artifacts.md)
    assert (env.root / "artifacts" / "worker" / stored).read_text() == "the report\n"
    with daemon(env) as conn:
        conn.request("append_session_events", {"session": sid, "events": [
            ev("back at it", "resumed")]})
    assert env.status("worker") == "running"
    assert env.task("worker")["attention"] == "action"  # until acknowledged
    assert "acknowledged worker (was action)" in env.ok("ack", "worker").out
    assert env.task("worker")["attention"] is None


def test_ls_puts_action_first_then_notice(env: Env, repo: Path) -> None:
    for name in ("calm", "loud", "mid"):
        env.ok("run", "--agent", "sleeper", "--name", name, cwd=repo)
    with daemon(env) as conn:
        for name, level in (("loud", "action"), ("mid", "notice")):
            conn.request("append_session_events", {"session": session_of(env, name),
                                                   "events": [ev(level, "notify",
                                                                 attention=level)]})
    env.ok("ack", "calm")
    names = [t["name"] for t in env.ok("ls", "--json").json()]
    assert names == ["loud", "mid", "calm"]


def test_five_followers_see_every_event_once_in_order(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "busy", cwd=repo)
    sid = session_of(env, "busy")
    start = env.ok("events", "--json").out.count("\n")
    followers = [subprocess.Popen([*AGENT, "events", "--follow", "--json", "busy"],
                                  env=env.env, stdout=subprocess.PIPE, text=True)
                 for _ in range(5)]
    try:
        with daemon(env) as conn:
            for b in range(20):
                conn.request("append_session_events", {"session": sid, "events": [
                    ev(f"e{b}-{i}") for i in range(50)]})
        expected = [f"e{b}-{i}" for b in range(20) for i in range(50)]
        for f in followers:
            assert f.stdout is not None
            seen: list[dict[str, Any]] = []
            reader = threading.Thread(target=lambda f=f, seen=seen: [
                seen.append(json.loads(line)) for line in f.stdout])  # type: ignore[union-attr]
            reader.daemon = True
            reader.start()
            wait_for(lambda seen=seen: len([e for e in seen if e["kind"] == "progress"])
                     >= 1000, 30, "1000 events at a follower")
            progress = [e["summary"] for e in seen if e["kind"] == "progress"]
            assert progress == expected
            ids = [e["id"] for e in seen]
            assert ids == sorted(set(ids))
            assert len(seen) >= start
    finally:
        for f in followers:
            f.kill()
            f.wait(scaled(10))
            if f.stdout is not None:
                f.stdout.close()


def test_follow_filters_by_attention(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "quiet", cwd=repo)
    sid = session_of(env, "quiet")
    with daemon(env) as conn:
        conn.request("append_session_events", {"session": sid, "events": [
            ev("background"), ev("look", "notify", attention="notice"),
            ev("act now", "notify", attention="action")]})
    out = env.ok("events", "quiet", "--attention", "notice", "--json").out.splitlines()
    summaries = [json.loads(line)["summary"] for line in out]
    assert "background" not in summaries
    assert summaries[-2:] == ["look", "act now"]
    since = json.loads(out[-1])["id"]
    assert env.ok("events", "--since", str(since)).out == ""


def test_emit_from_inside_a_session(env: Env, repo: Path) -> None:
    env.write_config(f'[agents.emitter]\ncommand = "{sys.executable}"\n'
                     'args = ["-m", "agentd", "emit", "--attention", "action", "--data", '
                     '"{\\"pr\\": 7}", "please", "review"]\nprompt = "none"\n')
    env.ok("run", "--agent", "emitter", "--name", "em", cwd=repo)
    env.wait_status("em", "completed")
    events = [json.loads(line) for line in env.ok("events", "em", "--json").out.splitlines()]
    notify = next(e for e in events if e["kind"] == "notify")
    assert notify["attention"] == "action" and notify["summary"] == "please review"
    assert notify["data"] == {"pr": 7}
    r = env.agent("emit", "outside")
    assert r.code != 0 and "managed session" in r.err


def test_demo_agent_blocks_until_answered(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "demo", "--name", "demo", "tidy up", cwd=repo)
    t = env.wait_status("demo", "blocked")
    assert t["attention"] == "action" and "keep the change" in t["attention_summary"]
    assert t["tokens_in"] and t["cost_usd"]
    env.ok("send-input", "demo", "--", "y")
    env.wait_status("demo", "completed")
    kinds = [json.loads(line)["kind"] for line in env.ok("events", "demo", "--json").out
             .splitlines()]
    for kind in ("task_created", "session_started", "message", "tool_call", "artifact",
                 "usage", "waiting", "input_sent", "resumed", "result", "session_exited"):
        assert kind in kinds, kind


def test_screen_patterns_and_idle_detect_blocked(env: Env, repo: Path) -> None:
    env.write_config('[agents.asker]\ncommand = "sh"\n'
                     'args = ["-c", "echo working; sleep 0.5; printf \'Proceed? (y/n) \'; '
                     'read a; echo thinking...; sleep 600"]\nprompt = "none"\n'
                     'waiting_patterns = ["Proceed\\\\? \\\\(y/n\\\\)"]\n'
                     'busy_patterns = ["thinking"]\n')
    env.ok("run", "--agent", "asker", "--name", "asker", cwd=repo)
    t = env.wait_status("asker", "blocked")
    assert t["attention"] == "action" and "Proceed" in t["attention_summary"]
    env.ok("send-input", "asker", "--", "y")
    env.wait_status("asker", "running")
    env.write_config('[agents.idler]\ncommand = "sh"\nargs = ["-c", "echo hi; sleep 600"]\n'
                     'prompt = "none"\nidle_seconds = 1\n')
    env.ok("run", "--agent", "idler", "--name", "idler", cwd=repo)
    t = env.wait_status("idler", "blocked")
    assert t["attention"] == "notice" and "no output for 1s" in t["attention_summary"]


def test_on_attention_runs_a_command_with_the_event(env: Env, repo: Path) -> None:
    out = env.root.parent / "attention.jsonl"
    env.write_config(f'on_attention = "cat >> {out}"\n'
                     '[agents.sleeper]\ncommand = "sleep"\nargs = ["600"]\nprompt = "none"\n')
    env.ok("run", "--agent", "sleeper", "--name", "needy", cwd=repo)
    with daemon(env) as conn:
        conn.request("append_session_events", {"session": session_of(env, "needy"),
                                               "events": [ev("help me", "waiting")]})
    wait_for(lambda: out.exists() and "help me" in out.read_text(), 10, "on_attention")
    event = json.loads(out.read_text().splitlines()[0])
    assert event["task"] == "needy" and event["attention"] == "action"


def test_stream_events_reply_and_pushes_over_the_protocol(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "true", "--name", "t1", cwd=repo)
    env.wait_status("t1", "completed")
    with daemon(env) as conn:
        result = conn.request("stream_events", {"task": "t1"})
        pushes = list(conn.inbox)
    assert all(isinstance(p, Push) and p.name == "event" for p in pushes)
    assert result["last_id"] == pushes[-1].data["id"]  # type: ignore[union-attr]


class WatchedScreen:
    """The worker's real screen model and screen watch, outside a worker: what it reports
    for a screen is what a worker would send."""

    def __init__(self, waiting: list[str], busy: list[str]) -> None:
        self.screen = Screen(80, 24)
        self.events: list[dict[str, Any]] = []
        self.output_at = 0.0
        self.watch = ScreenWatch(waiting, busy, 0, screen=self.screen,
                                 last_output=lambda: self.output_at,
                                 report=self.events.append, arm=lambda part: None)

    def show(self, text: str, now: float) -> list[dict[str, Any]]:
        self.screen.write(b"\x1b[2J\x1b[H" + text.replace("\n", "\r\n").encode())
        self.screen.catch_up()
        self.output_at = now
        self.watch.saw_output()
        self.watch.fire(now + 1)
        events = list(self.events)
        self.events.clear()  # (the watch reports into this very list)
        return events


def test_screen_resume_does_not_override_a_hook_block(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "mixed", cwd=repo)
    sid = session_of(env, "mixed")
    watch = WatchedScreen([r"Proceed\?"], [r"thinking"])
    with daemon(env) as conn:
        def send(events: list[dict[str, Any]]) -> None:
            assert events, "the screen watch saw no change"
            conn.request("append_session_events", {"session": sid, "events": events})

        send(watch.show("working\nProceed? (y/n)", 10.0))
        assert env.status("mixed") == "blocked"
        send(watch.show("working\nthinking...", 11.0))
        assert env.status("mixed") == "running"  # the screen undoes its own block
        send([ev("finished its turn; waiting for the next prompt", "waiting",
                 attention="notice", data={"source": "claude-hook"})])
        send(watch.show("Proceed? (y/n)", 12.0))
        send(watch.show("thinking...", 13.0))
    assert env.status("mixed") == "blocked"  # but not a hook's


def test_screen_question_keeps_a_hooks_more_telling_summary(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "asks", cwd=repo)
    sid = session_of(env, "asks")
    with daemon(env) as conn:
        conn.request("append_session_events", {"session": sid, "events": [
            ev("asks permission to use Bash: touch x", "waiting",
               data={"source": "claude-hook"})]})
        conn.request("append_session_events", {"session": sid, "events": [
            ev("screen shows 'Esc to cancel'", "waiting", data={"source": "screen"})]})
    t = env.task("asks")
    assert (t["status"], t["attention"]) == ("blocked", "action")
    assert t["attention_summary"] == "asks permission to use Bash: touch x"
