"""`agent logs` and `agent send-input` through the real daemon and worker."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import AGENT, Env, scaled, wait_for


def test_logs_plain_raw_and_after_kill(env: Env, repo: Path) -> None:
    env.write_config('[agents.printer]\ncommand = "sh"\nargs = ["-c", '
                     '"printf \'\\\\033[31mred\\\\033[0m\\\\n\'; printf \'50%%\\\\r100%%\\\\n\'; '
                     'sleep 600"]\nprompt = "none"\n')
    env.ok("run", "--agent", "printer", "--name", "printer", cwd=repo)
    wait_for(lambda: "100%" in env.ok("logs", "printer").out, 10, "output")
    assert env.ok("logs", "printer").out.splitlines()[:2] == ["red", "100%"]
    assert "\x1b[31mred" in env.ok("logs", "printer", "--raw").out
    env.ok("kill", "printer")
    env.wait_status("printer", "killed")
    assert env.ok("logs", "printer").out.splitlines()[:2] == ["red", "100%"]


def test_logs_follow_streams_until_the_session_ends(env: Env, repo: Path) -> None:
    env.write_config('[agents.ticker]\ncommand = "sh"\nargs = ["-c", '
                     '"for i in 1 2 3 4 5; do echo tick $i; sleep 0.3; done"]\n'
                     'prompt = "none"\n')
    env.ok("run", "--agent", "ticker", "--name", "ticker", cwd=repo)
    proc = subprocess.run([*AGENT, "logs", "--follow", "ticker"], env=env.env,
                          capture_output=True, text=True, timeout=scaled(30))
    assert proc.returncode == 0
    assert [f"tick {i}" for i in range(1, 6)] == proc.stdout.split("\n")[:5]


def test_send_input_text_enter_and_named_keys(env: Env, repo: Path) -> None:
    env.write_config('[agents.reader]\ncommand = "sh"\nargs = ["-c", '
                     '"stty raw -echo; echo ready; while :; do c=$(dd bs=1 count=1 2>/dev/null '
                     '| od -An -tx1); echo got$c; done"]\nprompt = "none"\n')
    env.ok("run", "--agent", "reader", "--name", "reader", cwd=repo)
    # Input sent before `stty raw` would be cooked by the line discipline.
    wait_for(lambda: "ready" in env.ok("logs", "reader").out, 10, "the reader to be raw")
    env.ok("send-input", "reader", "--", "hi")
    env.ok("send-input", "reader", "--no-enter", "--key", "Up", "--key", "C-c", "--key", "Tab")
    expected = ["68", "69", "0d", "1b", "5b", "41", "03", "09"]

    def seen() -> list[str]:
        # In raw mode "\n" is a bare line feed: each line starts where the last one ended,
        # as a terminal shows it.
        return [line.split("got")[1].strip() for line in env.ok("logs", "reader").out.split("\n")
                if "got" in line]

    wait_for(lambda: seen() == expected, 10, f"bytes {expected}")
    r = env.agent("send-input", "reader", "--key", "Hyper-Q")
    assert r.code != 0 and "unknown key" in r.err
    r = env.agent("send-input", "reader")
    assert r.code != 0 and "nothing to send" in r.err


def test_send_input_to_ended_task_is_refused(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "true", "--name", "gone", cwd=repo)
    env.wait_status("gone", "completed")
    r = env.agent("send-input", "gone", "--", "hello")
    assert r.code != 0
    assert "has ended" in r.err


def test_raw_log_is_capped_with_rotation(env: Env, repo: Path) -> None:
    env.write_config('log_max_bytes = 8192\nlog_keep = 1\n[agents.chatty]\ncommand = "sh"\n'
                     'args = ["-c", "i=0; while [ $i -lt 2000 ]; do echo line $i; '
                     'i=$((i+1)); done"]\nprompt = "none"\n')
    env.ok("run", "--agent", "chatty", "--name", "chatty", cwd=repo)
    env.wait_status("chatty", "completed")
    log = env.log_of("chatty")
    rotated = log.with_name(log.name + ".1")
    assert rotated.exists() and not log.with_name(log.name + ".2").exists()
    assert log.stat().st_size < 8192 and rotated.stat().st_size == 8192
    lines = env.ok("logs", "chatty").out.splitlines()
    assert lines[-1] == "line 1999"  # the newest output is kept
    assert "line 0" not in lines  # the oldest has rotated away
