"""`read_log`: the daemon sends a session's raw log, so `agent logs` never opens a file of the
daemon's (checked with strace where it is installed, and with `data_dir` elsewhere)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agentd.protocol.connection import Connection
from agentd.protocol.messages import Output, Push, Reply
from tests.helpers import AGENT, Env, wait_for

TICKER = ('[agents.ticker]\ncommand = "sh"\nargs = ["-c", '
          '"for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done"]\nprompt = "none"\n')


def chatty(lines: int, keep: int, pause_every: int = 0) -> str:
    pause = f"[ $((i % {pause_every})) = 0 ] && sleep 0.05; " if pause_every else ""
    return (f'log_max_bytes = 4096\nlog_keep = {keep}\n[agents.chatty]\ncommand = "sh"\n'
            f'args = ["-c", "i=0; while [ $i -lt {lines} ]; do echo line $i; i=$((i+1)); '
            f'{pause}done"]\nprompt = "none"\n')


def read_log(env: Env, name: str, follow: bool = False) -> tuple[bytes, list[object]]:
    """The OUTPUT bytes, and every other message in order, for one read_log."""
    data = bytearray()
    others: list[object] = []
    with Connection.open(env.root / "agentd.sock", timeout=30) as conn:
        req = conn.send_request("read_log", {"name": name, "follow": follow})
        while True:
            msg = conn.recv()
            if isinstance(msg, Output):
                data += msg.data
                continue
            others.append(msg)
            if isinstance(msg, Reply) and msg.id == req and not follow:
                return bytes(data), others
            if isinstance(msg, Push) and msg.name == "log_end":
                return bytes(data), others


def files_of(log: Path) -> bytes:
    rotated = sorted(log.parent.glob(log.name + ".*"), key=lambda p: -int(p.suffix[1:]))
    return b"".join(p.read_bytes() for p in [*rotated, log])


def test_read_log_sends_the_log_then_the_reply(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "fail", "--name", "once", cwd=repo)
    env.wait_status("once", "failed")
    data, others = read_log(env, "once")
    assert data == env.log_of("once").read_bytes() and b"failing" in data
    # First the size the session started at (recorded with it), then the reply.
    size, reply = others
    with env.db() as db:
        cols, rows = db.execute("SELECT cols, rows FROM sessions WHERE id = ?",
                                (env.task("once")["session"],)).fetchone()
    spec = {"cols": cols, "rows": rows}
    assert isinstance(size, Push) and size.name == "log_size"
    assert size.data == spec and cols > 0 and rows > 0
    assert isinstance(reply, Reply)
    assert reply.result == {"session": env.task("once")["session"], "bytes": len(data),
                            "ended": True, "cols": spec["cols"], "rows": spec["rows"]}


def test_follow_streams_what_is_appended_and_ends_with_log_end(env: Env, repo: Path) -> None:
    env.write_config(TICKER)
    env.ok("run", "--agent", "ticker", "--name", "ticker", cwd=repo)
    data, others = read_log(env, "ticker", follow=True)
    size, reply, end = others
    assert isinstance(size, Push) and size.name == "log_size"
    assert isinstance(reply, Reply) and reply.result["following"] is True
    assert isinstance(end, Push) and end.data["bytes"] == len(data)
    assert env.status("ticker") == "completed"
    assert data.replace(b"\r\n", b"\n").split(b"\n")[:5] == [b"tick %d" % i for i in range(1, 6)]
    assert data == env.log_of("ticker").read_bytes()


def test_rotated_logs_come_out_oldest_first(env: Env, repo: Path) -> None:
    env.write_config(chatty(3000, keep=20))
    env.ok("run", "--agent", "chatty", "--name", "chatty", cwd=repo)
    env.wait_status("chatty", "completed")
    log = env.log_of("chatty")
    assert log.with_name(log.name + ".5").exists()  # several rotations to put in order
    data, _ = read_log(env, "chatty")
    assert data == files_of(log)
    assert data.split(b"\r\n")[:-1] == [b"line %d" % i for i in range(3000)]


def test_follow_across_rotations_loses_and_repeats_nothing(env: Env, repo: Path) -> None:
    env.write_config(chatty(3000, keep=40, pause_every=150))
    env.ok("run", "--agent", "chatty", "--name", "chatty", cwd=repo)
    data, others = read_log(env, "chatty", follow=True)
    assert isinstance(others[-1], Push) and others[-1].name == "log_end"
    assert data.split(b"\r\n")[:-1] == [b"line %d" % i for i in range(3000)]


def test_agent_logs_with_data_dir_elsewhere(env: Env, repo: Path) -> None:
    data_dir = env.root.parent / "data"
    env.write_config(f'data_dir = "{data_dir}"\n' + TICKER)
    env.ok("run", "--agent", "ticker", "--name", "ticker", cwd=repo)
    follow = subprocess.run([*AGENT, "logs", "--follow", "ticker"], env=env.env,
                            capture_output=True, text=True, timeout=30)
    assert follow.returncode == 0, follow.stderr
    assert follow.stdout.split("\n")[:5] == [f"tick {i}" for i in range(1, 6)]
    assert env.ok("logs", "ticker").out == follow.stdout
    assert list((data_dir / "logs").glob("*.log"))
    assert not (env.root / "logs").exists()


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_agent_logs_never_opens_the_daemons_files(env: Env, repo: Path) -> None:
    env.write_config(TICKER)
    env.ok("run", "--agent", "ticker", "--name", "ticker", cwd=repo)  # daemon up: not traced
    trace = env.root.parent / "trace"
    for args in (["logs", "--follow", "ticker"], ["logs", "--raw", "ticker"]):
        proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,open,stat,newfstatat",
                               "-o", str(trace), *AGENT, *args], env=env.env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "tick 5" in proc.stdout
        seen = trace.read_text()
        assert "openat(" in seen  # the trace worked
        # Only the socket, and a stat of the root itself: the check that it is the user's
        # own (paths.unsafe) before anything is sent.
        root_check = f'newfstatat(AT_FDCWD, "{env.root}", '
        touched = [line for line in seen.splitlines() if str(env.root) in line
                   and "agentd.sock" not in line and root_check not in line]
        assert touched == [], touched
    wait_for(lambda: env.status("ticker") == "completed", 10, "ticker to complete")


def test_tail_sends_only_the_last_bytes_across_rotations(env: Env, repo: Path) -> None:
    env.write_config('log_max_bytes = 8192\nlog_keep = 3\n[agents.chatty]\ncommand = "sh"\n'
                     'args = ["-c", "i=0; while [ $i -lt 2500 ]; do echo line $i; '
                     'i=$((i+1)); done"]\nprompt = "none"\n')
    env.ok("run", "--agent", "chatty", "--name", "chatty", cwd=repo)
    env.wait_status("chatty", "completed")
    whole = files_of(env.log_of("chatty"))
    live = env.log_of("chatty").stat().st_size
    for tail in (5, live, live + 100, 20_000, 10 ** 9):
        with Connection.open(env.root / "agentd.sock", timeout=30) as conn:
            req = conn.send_request("read_log", {"name": "chatty", "tail": tail})
            data = bytearray()
            while True:
                msg = conn.recv()
                if isinstance(msg, Output):
                    data += msg.data
                elif isinstance(msg, Reply) and msg.id == req:
                    break
        assert bytes(data) == whole[-tail:], tail
