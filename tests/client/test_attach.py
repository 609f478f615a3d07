"""`agent attach` driven through a real PTY, read by an independent emulator (pyte).

Every test runs on both attach paths: direct (the worker gets the terminal) and relay (the
client carries the bytes), forced with AGENTD_ATTACH."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentd.client.attach import RESTORE
from agentd.protocol import codec
from agentd.protocol.connection import Connection
from agentd.protocol.messages import Output, Push, Reply, Request
from tests.helpers import AGENT, Env, scaled, wait_for
from tests.terminal import Terminal, render

PROGRAM = Path(__file__).parent.parent / "programs" / "fullscreen.py"
DETACH = b"\x1d"  # Ctrl-]


@pytest.fixture(params=["direct", "relay"], autouse=True)
def path(request: pytest.FixtureRequest, env: Env) -> str:
    env.env["AGENTD_ATTACH"] = request.param
    return str(request.param)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for t in opened:
        t.close()


def start_fullscreen(env: Env, repo: Path, name: str = "tui") -> None:
    env.write_config(f'[agents.tui]\ncommand = "{sys.executable}"\n'
                     f'args = ["{PROGRAM}"]\nprompt = "none"\n'
                     '[agents.sleeper]\ncommand = "sleep"\nargs = ["600"]\nprompt = "none"\n')
    env.ok("run", "--agent", "tui", "--name", name, cwd=repo)
    wait_for(lambda: b"fullscreen test program" in env.log_of(name).read_bytes(), 15,
             "the program to draw")


def attach(env: Env, terminals: list[Terminal], *args: str, cols: int = 80,
           rows: int = 24) -> Terminal:
    t = Terminal([*AGENT, "attach", *args], env.env, cols, rows)
    terminals.append(t)
    return t


def session_socket(env: Env, name: str) -> Path:
    return env.root / "sessions" / f"{env.task(name)['session']}.sock"


def real_screen(env: Env, name: str, cols: int, rows: int) -> tuple[list[str], tuple[int, int]]:
    return render(env.log_of(name).read_bytes(), cols, rows)


def test_reattach_repaints_exact_screen(env: Env, repo: Path, terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    first = attach(env, terminals, "tui")
    first.wait_text("size 80x24")
    first.send("hello")
    first.wait_text("typed: hello")
    first.send(DETACH)
    assert first.wait_exit() == 0
    assert b"\x1b[?1049l" in first.raw[-200:]  # the user's terminal is put back
    env.ok("send-input", "tui", "--no-enter", "--", " world")
    wait_for(lambda: "world" in env.ok("logs", "tui").out, 10, "background input")
    second = attach(env, terminals, "tui")
    second.wait_text("typed: hello world")
    expected, cursor = real_screen(env, "tui", 80, 24)
    wait_for(lambda: second.display() == expected, 10, "repaint to equal the real screen")
    assert second.cursor() == cursor
    second.send("~")  # quit the program: the client reports and exits with its code
    assert second.wait_exit() == 0
    wait_for(lambda: "exited with code 0" in second.text(), 5, "final status")


@pytest.mark.skipif(shutil.which("vim") is None, reason="vim is not installed")
def test_reattach_to_vim(env: Env, repo: Path, terminals: list[Terminal]) -> None:
    env.write_config('[agents.vim]\ncommand = "vim"\n'
                     'args = ["-u", "NONE", "-N", "-i", "NONE", "notes.txt"]\n'
                     'prompt = "none"\n')
    env.ok("run", "--agent", "vim", "--name", "editor", cwd=repo)
    # The task's PTY is 120x40 (no terminal at 'agent run'); attach at the same size.
    first = attach(env, terminals, "editor", cols=120, rows=40)
    first.wait_text("notes.txt")
    first.send("ifirst line\x1b")
    first.wait_text("first line")
    live = first.display()
    first.send(DETACH)
    first.wait_exit()
    second = attach(env, terminals, "editor", cols=120, rows=40)
    wait_for(lambda: second.display() == live, 10, "vim's screen to be repainted")
    second.send(":q!\r")
    assert second.wait_exit() == 0


def test_resize_follows_the_terminal(env: Env, repo: Path, terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    t = attach(env, terminals, "tui", cols=80, rows=24)
    t.wait_text("size 80x24")
    t.resize(100, 30)
    t.wait_text("size 100x30")
    t.send(DETACH)
    t.wait_exit()


def test_one_interactive_attacher_and_force(env: Env, repo: Path,
                                            terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    first = attach(env, terminals, "tui")
    first.wait_text("size 80x24")
    second = attach(env, terminals, "tui")
    assert second.wait_exit() != 0
    wait_for(lambda: "--force" in second.text(), 5, "an error naming --force")
    third = attach(env, terminals, "tui", "--force")
    third.wait_text("size 80x24")
    assert first.wait_exit() == 0  # taken over
    wait_for(lambda: "taken over" in first.text(), 5, "the first client to be told")
    third.send("x")
    third.wait_text("typed: x")
    third.send(DETACH)
    third.wait_exit()


def test_read_only_watcher_sees_output_but_cannot_type(env: Env, repo: Path,
                                                       terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    # A watcher never resizes the session: it stays at the PTY's size from 'agent run'.
    watcher = attach(env, terminals, "tui", "--read-only", cols=120, rows=40)
    watcher.wait_text("size 120x40")
    # The detach key comes after the stray keys: once the client is gone, it has read them.
    watcher.send(b"zzz" + DETACH)
    assert watcher.wait_exit() == 0
    # Past the client, straight to the worker: a watcher's input, then a request on the same
    # connection; its reply means the worker has dealt with the input.
    with Connection.open(session_socket(env, "tui"), timeout=scaled(10)) as raw:
        raw.request("attach", {"mode": "read-only"})
        raw.send_input(b"yyy")
        raw.request("info")
    # A marker through a channel known to work; keys reach the program in order, so had
    # either stray input got through, it would show before the marker.
    env.ok("send-input", "tui", "--no-enter", "--", "abc")

    def typed() -> str:
        screen, _ = real_screen(env, "tui", 120, 40)
        return next(line for line in screen if "typed:" in line).split("typed:")[1].strip(" |")

    wait_for(lambda: "abc" in typed(), 10, "the marker to reach the program")
    assert typed() == "abc"


def test_stalled_client_does_not_stall_the_agent(env: Env, repo: Path) -> None:
    env.write_config('[agents.flood]\ncommand = "sh"\n'
                     'args = ["-c", "sleep 1; head -c 30000000 /dev/zero | tr \'\\\\0\' x; '
                     'echo; echo FLOOD-DONE; sleep 600"]\nprompt = "none"\n')
    env.ok("run", "--agent", "flood", "--name", "flood", cwd=repo)
    sock_path = session_socket(env, "flood")
    stalled = socket.socket(socket.AF_UNIX)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(str(sock_path))
    stalled.sendall(codec.encode(Request(1, "attach", {"mode": "read-only"})))
    # The stalled client never reads while 30 MB go by; the agent still finishes its output.
    wait_for(lambda: b"FLOOD-DONE" in env.log_of("flood").read_bytes()[-100:], 60,
             "the agent to get all its output out")
    # When it reads again, it is resynced with a snapshot rather than a broken stream.
    decoder = codec.Decoder()
    stalled.settimeout(scaled(10))
    seen: list[object] = []

    def resynced() -> bool:
        for msg in decoder.feed(stalled.recv(1 << 20)):
            seen.append(msg)
        return any(isinstance(m, Push) and m.name == "resync" for m in seen)

    wait_for(resynced, 30, "a resync push")
    i = next(i for i, m in enumerate(seen) if isinstance(m, Push) and m.name == "resync")
    while len(seen) <= i + 1:
        seen.extend(decoder.feed(stalled.recv(1 << 20)))
    snapshot = seen[i + 1]
    assert isinstance(snapshot, Output) and b"FLOOD-DONE" in snapshot.data
    assert isinstance(seen[0], Reply)
    stalled.close()


def test_attach_survives_daemon_restart(env: Env, repo: Path,
                                        terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    t = attach(env, terminals, "tui")
    t.wait_text("size 80x24")
    env.ok("daemon", "restart")
    t.send("still here")
    t.wait_text("typed: still here")
    t.send(DETACH)
    assert t.wait_exit() == 0
    again = attach(env, terminals, "tui")
    again.wait_text("typed: still here")
    again.send(DETACH)
    again.wait_exit()


def test_attach_to_finished_task_points_at_logs(env: Env, repo: Path,
                                                terminals: list[Terminal]) -> None:
    env.ok("run", "--agent", "fail", "--name", "done", cwd=repo)
    env.wait_status("done", "failed")
    t = attach(env, terminals, "done")
    assert t.wait_exit() != 0
    wait_for(lambda: "agent logs done" in t.text().replace("\n", ""), 5, "a pointer to logs")


def test_exit_while_attached_reports_and_returns_code(env: Env, repo: Path,
                                                      terminals: list[Terminal]) -> None:
    env.write_config('[agents.ask]\ncommand = "sh"\n'
                     'args = ["-c", "echo ready; read x; echo bye $x; exit 7"]\n'
                     'prompt = "none"\n')
    env.ok("run", "--agent", "ask", "--name", "ask", cwd=repo)
    t = attach(env, terminals, "ask")
    # On screen means attached: the client's terminal is raw and keys go to the session
    # (typed earlier, they would be flushed when the client makes its terminal raw).
    t.wait_text("ready")
    t.send("now\r")
    assert t.wait_exit() == 7
    wait_for(lambda: "exited with code 7" in t.text(), 5, "final status")
    assert env.status("ask") == "failed"


def test_detach_from_another_terminal(env: Env, repo: Path, terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    t = attach(env, terminals, "tui")
    t.wait_text("size 80x24")
    session = env.task("tui")["session"]
    r = env.ok("detach", env={"AGENTD_SESSION_ID": session})  # as if run inside the session
    assert "detached" in r.out
    assert t.wait_exit() == 0
    assert env.agent("detach", "tui").code == 1  # nobody attached any more



def test_run_attach_attaches_right_away(env: Env, repo: Path,
                                        terminals: list[Terminal]) -> None:
    env.write_config(f'[agents.tui]\ncommand = "{sys.executable}"\n'
                     f'args = ["{PROGRAM}"]\nprompt = "none"\n')
    t = Terminal([*AGENT, "run", "--attach", "--agent", "tui", "--name", "direct"], env.env,
                 100, 30, cwd=repo)
    terminals.append(t)
    t.wait_text("size 100x30")  # the PTY took the size of the terminal it was run from
    t.send("~")
    assert t.wait_exit() == 0


def test_attached_client_is_told_when_another_task_needs_action(
        env: Env, repo: Path, terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    env.ok("run", "--agent", "sleeper", "--name", "other", cwd=repo)
    t = attach(env, terminals, "tui")
    t.wait_text("size 80x24")
    with Connection.open(env.root / "agentd.sock", timeout=scaled(10)) as conn:
        conn.request("append_session_events", {
            "session": env.task("other")["session"],
            "events": [{"kind": "waiting", "summary": "needs a decision"}]})
    wait_for(lambda: b"\x1b]9;agentd: other: needs a decision\x07" in t.raw, 10, "OSC 9")
    assert b"\x1b]777;notify;agentd;other: needs a decision\x07" in t.raw
    assert b"\x07\x1b]9;" in t.raw  # the bell rings first
    t.send(DETACH)
    t.wait_exit()


def worker_info(env: Env, name: str) -> dict[str, object]:
    with Connection.open(session_socket(env, name), timeout=scaled(10)) as raw:
        info: dict[str, object] = raw.request("info")
        return info


def assert_restored(t: Terminal) -> None:
    """The terminal's modes are the shell's again, and the restore sequence was written."""
    assert t.modes() == t.initial_modes
    assert b"\x1b[?1049l" in t.raw[-300:]


def test_killed_client_leaves_the_terminal_silent(env: Env, repo: Path, path: str,
                                                  terminals: list[Terminal]) -> None:
    env.write_config('[agents.flood]\ncommand = "sh"\n'
                     'args = ["-c", "echo ready; while :; do echo flooding-the-terminal; '
                     'done"]\nprompt = "none"\n')
    env.ok("run", "--agent", "flood", "--name", "flood", cwd=repo)
    t = attach(env, terminals, "flood")
    t.wait_text("flooding-the-terminal")
    os.kill(t.proc.pid, signal.SIGKILL)
    t.proc.wait(scaled(10))
    # The worker lets go of the terminal as soon as it sees the client's socket close.
    wait_for(lambda: worker_info(env, "flood")["interactive"] is False, 10,
             "the worker to see the client gone")
    with t.lock:
        at_let_go = len(t.raw)

    def settled() -> bool:  # what the terminal's kernel buffer already held comes in
        with t.lock:
            n = len(t.raw)
        time.sleep(0.3)
        with t.lock:
            return len(t.raw) == n

    wait_for(settled, 10, "the terminal to go quiet")
    with t.lock:
        written = len(t.raw)
    assert written - at_let_go < 65536  # no more than a terminal's buffers hold
    log = env.log_of("flood")
    size = log.stat().st_size
    wait_for(lambda: log.stat().st_size > size + 1_000_000, 30, "the agent to flood on")
    with t.lock:
        assert len(t.raw) == written
    env.ok("kill", "flood")


def test_terminal_restored_after_detach(env: Env, repo: Path,
                                        terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    t = attach(env, terminals, "tui")
    t.wait_text("size 80x24")
    assert t.modes() != t.initial_modes  # raw while attached
    t.send(DETACH)
    assert t.wait_exit() == 0
    assert_restored(t)


def test_detach_during_a_flood_leaves_the_restore_last(env: Env, repo: Path,
                                                        terminals: list[Terminal]) -> None:
    """`yes` outruns the terminal, so on the direct path the worker's writer thread holds the
    terminal when the detach key comes: it is stopped before the worker says `detached`, so
    the client's restore sequence is the last thing the terminal gets."""
    env.write_config('[agents.flood]\ncommand = "yes"\nargs = ["flooding-the-terminal"]\n'
                     'prompt = "none"\n')
    env.ok("run", "--agent", "flood", "--name", "flood", cwd=repo)
    t = attach(env, terminals, "flood")
    t.wait_text("flooding-the-terminal")

    def received() -> int:
        with t.lock:
            return len(t.raw)

    start = received()
    wait_for(lambda: received() > start + 2_000_000, 30, "2 MB of the flood on the terminal")
    t.send(DETACH)
    assert t.wait_exit() == 0
    # The terminal's end is read once nobody holds it open: the client has exited, and the
    # worker (on the direct path) kept no descriptor of it. Only then is everything read.
    t.reader.join(scaled(30))
    assert not t.reader.is_alive()
    assert_restored(t)
    with t.lock:
        raw = bytes(t.raw)
    after = raw[raw.rindex(RESTORE) + len(RESTORE):]
    assert b"flooding" not in after and len(after) < 200  # only the client's own last line
    env.ok("kill", "flood")


def test_terminal_restored_after_agent_exits(env: Env, repo: Path,
                                             terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    t = attach(env, terminals, "tui")
    t.wait_text("size 80x24")
    t.send("~")
    assert t.wait_exit() == 0
    assert_restored(t)


def test_terminal_restored_after_worker_dies(env: Env, repo: Path,
                                             terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    t = attach(env, terminals, "tui")
    t.wait_text("size 80x24")
    info = worker_info(env, "tui")
    os.kill(int(str(info["worker_pid"])), signal.SIGKILL)
    assert t.wait_exit() == 1
    assert_restored(t)
    wait_for(lambda: "closed the connection" in t.text(), 5, "the client to say why")
    os.killpg(int(str(info["pid"])), signal.SIGKILL)  # the agent, orphaned by the worker


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_terminal_restored_after_client_signal(env: Env, repo: Path, sig: int,
                                               terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    t = attach(env, terminals, "tui")
    t.wait_text("size 80x24")
    t.proc.send_signal(sig)
    assert t.wait_exit() == 128 + sig
    assert_restored(t)
    assert worker_info(env, "tui")["interactive"] is False
    again = attach(env, terminals, "tui")  # the seat is free
    again.wait_text("size 80x24")
    again.send(DETACH)
    again.wait_exit()


def test_watcher_alongside_interactive_attacher(env: Env, repo: Path,
                                                terminals: list[Terminal]) -> None:
    start_fullscreen(env, repo)
    typist = attach(env, terminals, "tui")
    typist.wait_text("size 80x24")
    watcher = attach(env, terminals, "tui", "--read-only")
    watcher.wait_text("size 80x24")
    typist.send("both see this")
    typist.wait_text("typed: both see this")
    watcher.wait_text("typed: both see this")
    watcher.send(DETACH)
    assert watcher.wait_exit() == 0
    typist.send("!")
    typist.wait_text("typed: both see this!")
    typist.send(DETACH)
    assert typist.wait_exit() == 0


def test_shell_descriptor_stays_blocking(env: Env, repo: Path, path: str,
                                         terminals: list[Terminal]) -> None:
    """The worker makes its descriptor of the terminal non-blocking; the shell's, which the
    client shares, must not change (a fresh open, not a dup, is handed over)."""
    start_fullscreen(env, repo)
    check = ("import fcntl, os; "
             "print('nonblocking', bool(fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK))")
    script = f'{" ".join(AGENT)} attach tui; {sys.executable} -c "{check}"; sleep 600'
    t = Terminal(["sh", "-c", script], env.env, 80, 24)
    terminals.append(t)
    t.wait_text("size 80x24")
    if path == "direct":
        assert worker_info(env, "tui")["interactive"] is True
    t.send(DETACH)
    t.wait_text("nonblocking False")


def test_direct_path_is_taken_on_a_terminal(env: Env, repo: Path, path: str,
                                            terminals: list[Terminal]) -> None:
    """With a terminal, the client reads no keys in the direct path: the worker does. Seen
    from outside: the worker holds a descriptor of the client's terminal."""
    start_fullscreen(env, repo)
    t = attach(env, terminals, "tui")
    t.wait_text("size 80x24")
    worker = int(str(worker_info(env, "tui")["worker_pid"]))
    targets = set()
    for fd in os.listdir(f"/proc/{worker}/fd"):
        try:
            targets.add(os.readlink(f"/proc/{worker}/fd/{fd}"))
        except OSError:
            pass
    client_tty = os.readlink(f"/proc/{t.proc.pid}/fd/0")
    assert (client_tty in targets) == (path == "direct"), (client_tty, targets)
    t.send(DETACH)
    assert t.wait_exit() == 0
    assert client_tty not in {os.readlink(f"/proc/{worker}/fd/{fd}")
                              for fd in os.listdir(f"/proc/{worker}/fd")}


def test_bad_attach_path_setting(env: Env, repo: Path) -> None:
    start_fullscreen(env, repo)
    r = env.agent("attach", "tui", env={"AGENTD_ATTACH": "fast"})
    assert r.code != 0
    assert "AGENTD_ATTACH must be auto, direct or relay, not 'fast'" in r.err
    # Forced direct without a terminal: said so, nothing attached.
    r = env.agent("attach", "tui", env={"AGENTD_ATTACH": "direct"})
    assert r.code != 0 and "needs stdin and stdout on one terminal" in r.err
    assert worker_info(env, "tui")["interactive"] is False
