"""Liveness is proven, never assumed from a pid: a worker that dies is seen at once, a pid
reused after a reboot is somebody else's, and a lost task's surviving agent can still be
stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from agentd.procs import identity, is_process
from tests.helpers import Env, alive, kill_pid, scaled, wait_for


def test_identity_tells_a_process_from_its_pid() -> None:
    me = identity(os.getpid())
    assert me is not None and me == identity(os.getpid())
    assert is_process(os.getpid(), me)
    assert not is_process(os.getpid(), "another-boot:" + me.split(":")[1])
    child = subprocess.Popen(["true"])
    child.wait()
    assert identity(child.pid) is None


def test_a_dead_worker_is_lost_within_a_second(env: Env, repo: Path) -> None:
    env.ok("run", "--agent", "sleeper", "--name", "doomed", cwd=repo)
    env.ok("run", "--agent", "sleeper", "--name", "bystander", cwd=repo)
    (worker, agent), (other_worker, other_agent) = env.session_pids()
    os.kill(worker, signal.SIGKILL)
    started = time.monotonic()
    t = env.wait_status("doomed", "lost", timeout=5)
    # Seen by the daemon watching the worker, not by the 5-second reconcile.
    assert time.monotonic() - started < scaled(2)
    assert "vanished without recording an exit status" in t["status_reason"]
    assert t["attention"] == "action"
    assert env.status("bystander") == "running"
    assert alive(other_worker) and alive(other_agent)
    kill_pid(agent, group=True)


def test_kill_of_a_lost_task_still_ends_its_surviving_agent(env: Env, repo: Path) -> None:
    env.write_config(env.root.joinpath("config.toml").read_text() +
                     '[agents.stubborn]\ncommand = "sh"\n'
                     'args = ["-c", "trap \'\' HUP; while :; do sleep 0.1; done"]\n'
                     'prompt = "none"\n')
    env.ok("run", "--agent", "stubborn", "--name", "orphan", cwd=repo)
    worker, agent = env.session_pids()[0]
    os.kill(worker, signal.SIGKILL)
    env.wait_status("orphan", "lost")
    assert alive(agent)  # the PTY's hang-up did not stop it
    # Resuming would put a second agent beside it in the worktree.
    r = env.agent("resume", "orphan")
    assert (r.code, r.out) == (4, "")
    assert r.err == (f"agent: error: the agent of orphan's lost session "
                     f"{env.task('orphan')['session']} still runs (pid {agent}); stop it "
                     "first (agent kill orphan)\n")
    env.ok("kill", "orphan")
    wait_for(lambda: not alive(agent), 10, "the orphaned agent to end")
    assert env.status("orphan") == "killed"


def test_after_a_reboot_reused_pids_are_not_trusted(env: Env, repo: Path) -> None:
    """All processes gone, pid file and sockets stale, and the recorded pids now belong to
    unrelated processes: the next command recovers and signals none of them."""
    env.ok("run", "--agent", "sleeper", "--name", "before-reboot", cwd=repo)
    worker, agent = env.session_pids()[0]
    daemon = env.daemon_pid()
    assert daemon
    for pid in (daemon, worker):
        os.kill(pid, signal.SIGKILL)
    kill_pid(agent, group=True)
    wait_for(lambda: not (alive(daemon) or alive(worker) or alive(agent)), 10, "all gone")
    # Unrelated processes now hold the pids the database remembers (a process group of
    # their own, like an agent's).
    strangers = [subprocess.Popen(["sleep", "600"], start_new_session=True) for _ in range(2)]
    try:
        with env.db() as db:
            db.execute("UPDATE sessions SET worker_pid = ?, agent_pid = ?, "
                       "worker_ident = 'old-boot:' || worker_ident, "
                       "agent_ident = 'old-boot:' || agent_ident",
                       (strangers[0].pid, strangers[1].pid))
        (env.root / "agentd.pid").write_text(f"{strangers[0].pid}\n")
        t = env.task("before-reboot")  # starts a new daemon over the stale files
        assert t["status"] == "lost"
        env.ok("kill", "before-reboot")
        env.ok("kill", "--rm", "--force", "before-reboot")
        assert all(s.poll() is None for s in strangers), "a foreign process was signalled"
    finally:
        for s in strangers:
            s.kill()
            s.wait()
