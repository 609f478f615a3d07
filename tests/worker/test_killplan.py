"""The kill plan: the escalation's signals at their times, replaced or cancelled as a whole."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from agentd.worker.killplan import KillPlan
from tests.helpers import kill_pid, wait_for


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[int, int]] = []
        self.armed: list[object] = []

    def plan(self, pgid: int = 42) -> KillPlan:
        return KillPlan(pgid, self.armed.append, send=lambda pg, sig: self.sent.append((pg, sig)))


def test_terminate_sends_hup_at_once_then_term_then_kill() -> None:
    r = Recorder()
    plan = r.plan()
    assert plan.deadline() is None
    plan.terminate(4.0, now=100.0)
    assert r.sent == [(42, signal.SIGHUP)] and r.armed == [plan]
    assert plan.deadline() == 102.0
    plan.fire(101.9)
    assert len(r.sent) == 1
    plan.fire(102.0)
    assert r.sent[-1] == (42, signal.SIGTERM) and plan.deadline() == 104.0
    plan.fire(500.0)
    assert r.sent[-1] == (42, signal.SIGKILL) and len(r.sent) == 3
    assert plan.deadline() is None


def test_a_late_turn_sends_every_signal_due_in_order() -> None:
    r = Recorder()
    plan = r.plan()
    plan.start([(0.5, signal.SIGTERM), (1.0, signal.SIGKILL)], now=10.0)
    plan.fire(20.0)
    assert [sig for _, sig in r.sent] == [signal.SIGTERM, signal.SIGKILL]


def test_a_new_plan_replaces_the_old_and_cancel_ends_it() -> None:
    r = Recorder()
    plan = r.plan()
    plan.terminate(10.0, now=0.0)
    plan.start([(5.0, signal.SIGKILL)], now=1.0)  # output ended: SIGKILL in 5 s, no SIGTERM
    assert plan.deadline() == 6.0
    plan.cancel()  # the agent exited
    assert plan.deadline() is None
    plan.fire(100.0)
    assert r.sent == [(42, signal.SIGHUP)]
    plan.start([], now=0.0)
    assert len(r.armed) == 2  # an empty plan does not arm


CHILD = """
import signal, sys, time
for sig in (signal.SIGHUP, signal.SIGTERM):
    signal.signal(sig, lambda n, f: print(signal.Signals(n).name, flush=True))
print("ready", flush=True)
while True:
    time.sleep(1)
"""


def test_a_stubborn_process_group_is_killed_by_the_plan() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE,
                            start_new_session=True, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        plan = KillPlan(proc.pid, lambda part: None)
        plan.terminate(0.4, time.monotonic())
        assert proc.stdout.readline() == "SIGHUP\n"
        while (at := plan.deadline()) is not None:
            time.sleep(max(0.0, at - time.monotonic()))
            plan.fire(time.monotonic())
        assert proc.stdout.readline() == "SIGTERM\n"
        wait_for(lambda: proc.poll() is not None, what="the group to be killed")
        assert proc.returncode == -signal.SIGKILL
    finally:
        kill_pid(proc.pid, group=True)
        proc.wait()
        if proc.stdout:
            proc.stdout.close()
