"""`AgentdClient` over a `UnixTransport`, in process, against a real daemon and worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentd.client.api import AgentdClient
from agentd.client.transport import UnixTransport
from agentd.errors import DaemonError, TaskNotFound
from agentd.protocol.views import EventView, SessionView, TaskView
from tests.helpers import Env, wait_for


@pytest.fixture
def api(env: Env) -> AgentdClient:
    env.ok("ls")  # the daemon, started by the CLI (an in-process start would be ours)
    return AgentdClient(UnixTransport(str(env.root / "agentd.sock")), start=False)


def test_tasks_sessions_and_snapshot(env: Env, repo: Path, api: AgentdClient) -> None:
    env.write_config('[agents.sleeper]\ncommand = "sh"\nargs = ["-c", "echo ready; sleep 600"]\n'
                     'prompt = "none"\n')
    task, error = api.create_task(str(repo), [], dict(os.environ), 80, 24, name="one",
                                  agent="sleeper")
    assert isinstance(task, TaskView) and error is None
    assert task.name == "one" and task.branch == "agent/one" and task.session
    assert [t.name for t in api.list_tasks()] == ["one"]
    again, session = api.get_session("one")
    assert again.name == "one" and isinstance(session, SessionView)
    assert session.id == task.session and session.ended is False
    assert api.get_task(session.id).name == "one"  # a session id names its task
    screen = wait_for(lambda: (s := api.snapshot("one"))["lines"][0] == "ready" and s, 10,
                      "the snapshot to show the output")
    assert (screen["cols"], screen["rows"]) == (80, 24)
    assert b"ready" in b"".join(api.read_log("one"))
    assert api.kill("one")["name"] == "one"
    wait_for(lambda: api.get_session("one")[1].ended, 10, "the session to end")
    with pytest.raises(DaemonError, match="has ended"):
        api.snapshot("one")
    with pytest.raises(TaskNotFound):
        api.get_task("nope")


def test_events_and_follow_events(env: Env, repo: Path, api: AgentdClient) -> None:
    env.ok("run", "--agent", "true", "--name", "quick", cwd=repo)
    env.wait_status("quick", "completed")
    stored = list(api.events(task="quick"))
    assert stored and all(isinstance(e, EventView) and e.task == "quick" for e in stored)
    assert [e.id for e in stored] == sorted(e.id for e in stored)
    follow = api.follow_events(since=stored[-1].id)
    session = api.get_session("quick")[1].id
    api.emit(session, [{"kind": "notify", "attention": "action", "summary": "look here"}])
    seen = []
    for e in follow:  # the task's end may still be recording (its artifacts): those first
        seen.append(e)
        if e.kind == "notify":
            break
    assert (e.kind, e.attention, e.summary) == ("notify", "action", "look here")
    assert all(x.task == "quick" for x in seen)
    follow.close()
    assert api.ack("quick") == {"name": "quick", "was": "action"}
    assert api.list_tasks()[0].attention is None


def test_a_client_that_may_not_start_the_daemon(env: Env) -> None:
    api = AgentdClient(UnixTransport(str(env.root / "agentd.sock")), start=False)
    with pytest.raises(DaemonError, match="not running"):
        api.list_tasks()
    assert not (env.root / "agentd.sock").exists()
