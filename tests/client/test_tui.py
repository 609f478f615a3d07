"""The TUI (bare `agent`), driven headless with Textual's Pilot against a real daemon, real
workers and the demo agent. Tasks are created "elsewhere" with the real CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from agentd.client.api import AgentdClient
from agentd.client.transport import UnixTransport
from agentd.client.tui.app import AgentApp
from agentd.client.tui.screens.confirm import Confirm
from agentd.client.tui.screens.new_task import NewTask
from agentd.client.tui.screens.text_view import TextView
from agentd.client.tui.widgets.preview import Preview
from agentd.client.tui.widgets.task_list import TaskList
from tests.helpers import AGENT, Env, kill_pid, scaled

SLOW_DEMO = f"""
[agents.asker]
command = "{sys.executable}"
args = ["-m", "agentd.demo_agent", "--delay", "0.05", "--no-commit"]
"""


def client(env: Env) -> AgentdClient:
    return AgentdClient(UnixTransport(str(env.root / "agentd.sock")), start=False)


def run_app(env: Env, body: Callable[[AgentApp, Pilot[Any]], Awaitable[None]],
            size: tuple[int, int] = (120, 36), **kw: Any) -> None:
    env.ok("ls")  # the daemon is up before the app connects
    app = AgentApp(client(env), **kw)

    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await body(app, pilot)

    asyncio.run(main())


async def until(pilot: Pilot[Any], cond: Callable[[], Any], what: str,
                timeout: float = 20) -> Any:
    deadline = time.monotonic() + scaled(timeout)
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def listed(app: AgentApp) -> list[str]:
    rows = app.main.query_one(TaskList).rows
    return [item.name if kind == "task" else f"[{item}]" for kind, item in rows]  # type: ignore[union-attr]


def notes(app: AgentApp) -> list[str]:
    return [n.message for n in app._notifications]


def test_list_agents_and_client_settings(env: Env) -> None:
    env.write_config(env.root.joinpath("config.toml").read_text().replace(
        'default_agent = "demo"', 'default_agent = "sleeper"\ntui_bell = false\n'
        'scrollback_lines = 77'))
    api = client(env)
    env.ok("ls")
    default, agents = api.list_agents()
    assert default == "sleeper" and agents[0] == "sleeper"
    assert agents[1:4] == ["quick", "fail", "true"]  # then the file's order, then built-ins
    assert {"claude", "codex", "demo"} <= set(agents)
    assert api.client_settings() == {"detach_key": "C-]", "tui_bell": False,
                                     "scrollback_lines": 77}


def test_created_elsewhere_blocks_rises_notifies_and_is_answered(env: Env, repo: Path) -> None:
    env.write_config(env.root.joinpath("config.toml").read_text() + SLOW_DEMO)

    async def body(app: AgentApp, pilot: Pilot[Any]) -> None:
        env.ok("run", "--agent", "asker", "--name", "asks", "do", "it", cwd=repo)
        await until(pilot, lambda: "asks" in listed(app), "the task to appear")
        env.ok("run", "--agent", "sleeper", "--name", "idle-one", cwd=repo)
        await until(pilot, lambda: "idle-one" in listed(app), "the other task")
        # It asks a question: action attention, first in the list (above the newer
        # task), a toast naming it.
        await until(pilot, lambda: app.tasks["asks"].attention == "action"
                    and listed(app)[:2] == ["asks", "idle-one"], "asks to rise to the top")
        await until(pilot, lambda: any(n.startswith("asks: asks: keep the change")
                                       for n in notes(app)), "the notification")
        # Selecting it (cursor on it) never acknowledges it.
        tl = app.main.query_one(TaskList)
        tl.select("asks")
        await until(pilot, lambda: app.main.query_one(Preview).name_shown == "asks",
                    "the preview to show asks")
        await until(pilot, lambda: "Keep the change" in str(app.main.query_one(
            Preview).lines), "the question on the preview")
        assert env.task("asks")["attention"] == "action"
        # Answer with `s`.
        await pilot.press("s")
        await until(pilot, lambda: app.screen.__class__.__name__ == "SendInput", "dialog")
        await pilot.press("y", "enter")
        await until(pilot, lambda: app.tasks.get("asks") is not None
                    and app.tasks["asks"].status == "completed", "asks to complete")
        assert "answered 'y'" in env.ok("events", "asks").out

    run_app(env, body)


def test_filter_status_keys_and_groups(env: Env, repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "other-repo"
    other.mkdir()
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "x"]):
        subprocess.run(["git", *args], cwd=other, env=env.env, check=True)

    async def body(app: AgentApp, pilot: Pilot[Any]) -> None:
        env.ok("run", "--agent", "sleeper", "--name", "alpha", "fix", "the", "parser",
               cwd=repo)
        env.ok("run", "--agent", "true", "--name", "beta", cwd=repo)
        env.ok("run", "--agent", "sleeper", "--name", "gamma", cwd=other)
        await until(pilot, lambda: {"alpha", "beta", "gamma"} <= set(listed(app))
                    and app.tasks["beta"].status == "completed", "three tasks")
        # Two repositories: a line for each.
        assert f"[{repo.name} (2)]" in listed(app) and "[other-repo (1)]" in listed(app)
        await pilot.press("slash", *"parser")
        await until(pilot, lambda: listed(app) == ["alpha"], "the filter by prompt")
        await pilot.press("escape")
        await until(pilot, lambda: len(listed(app)) == 5, "the filter cleared")
        await pilot.press("4")
        await until(pilot, lambda: listed(app) == ["beta"], "ended tasks only")
        await pilot.press("3")
        await until(pilot, lambda: set(listed(app)) == {
            "alpha", "gamma", f"[{repo.name} (1)]", "[other-repo (1)]"}, "active tasks only")
        await pilot.press("1")

    run_app(env, body)


def test_kill_asks_first_and_shows_refusals(env: Env, repo: Path) -> None:
    async def body(app: AgentApp, pilot: Pilot[Any]) -> None:
        env.ok("run", "--agent", "sleeper", "--name", "victim", cwd=repo)
        await until(pilot, lambda: "victim" in listed(app), "victim listed")
        app.main.query_one(TaskList).select("victim")
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the question")
        await pilot.press("n")  # declined: nothing happens
        await until(pilot, lambda: not isinstance(app.screen, Confirm), "dialog closed")
        assert env.status("victim") == "running"
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "the question again")
        await pilot.press("y")
        await until(pilot, lambda: app.tasks["victim"].status == "killed", "victim killed")
        assert "killed victim" in notes(app)
        # Kill and remove with uncommitted changes: the daemon's refusal, shown.
        (env.root / "worktrees" / "victim" / "scratch.txt").write_text("x")
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, Confirm), "kill --rm question")
        await pilot.press("y")
        await until(pilot, lambda: any(n.startswith("victim: ") and "uncommitted" in n
                                       for n in notes(app)), "the refusal")
        # Enter on an ended task: the attach is refused with the daemon's reason.
        await pilot.press("enter")
        await until(pilot, lambda: any("has ended" in n or "cannot attach" in n
                                       for n in notes(app)), "attach refused")

    run_app(env, body)


def test_views_diff_events_thread_usage_and_not_yet_available(env: Env, repo: Path) -> None:
    env.write_config(env.root.joinpath("config.toml").read_text() + SLOW_DEMO.replace(
        "--no-commit", "--no-question"))

    async def body(app: AgentApp, pilot: Pilot[Any]) -> None:
        env.ok("run", "--agent", "asker", "--name", "worker", "write", "notes", cwd=repo)
        await until(pilot, lambda: app.tasks.get("worker") is not None
                    and app.tasks["worker"].status == "completed", "worker done")
        app.main.query_one(TaskList).select("worker")

        async def view(key: str) -> str:
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, TextView), f"the {key} view")
            body = app.screen.query_one("#body")
            await until(pilot, lambda: "loading" not in str(body.render()), "its text")
            text = str(body.render())
            await pilot.press("escape")
            return text

        assert "+" in await view("d") and "notes" in await view("d")
        events = await view("e")
        assert "status_changed" in events and "result" in events
        thread = await view("t")
        assert "done: write notes" in thread
        usage = await view("dollar_sign")
        assert "by agent" in usage and "asker" in usage and "$0.01" in usage
        artifacts = await view("a")
        assert "final patch against main" in artifacts and "commits" in artifacts
        await pilot.press("r")
        await until(pilot, lambda: any(n.startswith("resume:") for n in notes(app)),
                    "resume answered")

    run_app(env, body)


def test_new_task_dialog_lists_agents_default_first_and_shows_errors(
        env: Env, repo: Path) -> None:
    async def body(app: AgentApp, pilot: Pilot[Any]) -> None:
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewTask), "the dialog")
        dialog = app.screen
        assert isinstance(dialog, NewTask)
        assert dialog.agents[0] == "demo" and {"quick", "sleeper"} <= set(dialog.agents)
        dialog.query_one("#name").value = "Bad Name!"  # type: ignore[attr-defined]
        await pilot.click("#start")
        await until(pilot, lambda: "name" in str(dialog.query_one("#error").render())
                    and "starting" not in str(dialog.query_one("#error").render()),
                    "the refusal in the dialog")
        assert isinstance(app.screen, NewTask)
        dialog.query_one("#name").value = "from-tui"  # type: ignore[attr-defined]
        dialog.query_one("#prompt").value = "hello"  # type: ignore[attr-defined]
        dialog.query_one("#prompt").focus()
        await pilot.press("enter")
        await until(pilot, lambda: "from-tui" in app.tasks, "the new task")
        await until(pilot, lambda: "started from-tui" in notes(app), "the toast")
        assert env.task("from-tui")["workspace"] == str(repo)

    os.chdir(repo)
    run_app(env, body, workspace=str(repo))


@pytest.mark.timeout(90)
def test_attach_in_place_and_back_in_a_real_terminal(env: Env, repo: Path,
                                                     tmp_path: Path) -> None:
    """The real `agent` in a real terminal (tmux): Enter attaches, Ctrl-] comes back."""
    import shutil

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    env.write_config(env.root.joinpath("config.toml").read_text() + (
        '[agents.echoer]\ncommand = "sh"\nargs = ["-c", "echo echoer-ready; '
        'while read l; do echo got:$l; done"]\nprompt = "none"\n'))
    env.ok("run", "--agent", "echoer", "--name", "echoer", cwd=repo)
    sock = str(tmp_path / "tmux.sock")
    tmux_env = {**env.env, "TERM": "xterm-256color"}
    tmux_env.pop("NO_COLOR")

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-S", sock, *args], env=tmux_env, check=True,
                              capture_output=True, text=True, timeout=scaled(20)).stdout

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "t")

    def wait_screen(needle: str) -> None:
        deadline = time.monotonic() + scaled(30)
        while needle not in screen():
            assert time.monotonic() < deadline, f"{needle!r} never on screen:\n{screen()}"
            time.sleep(0.1)

    cmd = " ".join([*AGENT])
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "120", "-y", "36",
         f"cd {repo} && exec {cmd}")
    server = int(tmux("display-message", "-p", "-t", "t", "#{pid}").strip())
    try:
        wait_screen("echoer")
        wait_screen("NAME")
        tmux("send-keys", "-t", "t", "Enter")
        wait_screen("echoer-ready")  # the task's own screen, full-size
        tmux("send-keys", "-t", "t", "-l", "hello-tui")
        tmux("send-keys", "-t", "t", "Enter")
        wait_screen("got:hello-tui")
        tmux("send-keys", "-t", "t", "C-]")
        wait_screen("NAME")  # the app is back
        assert "echoer" in screen() and "? help" in screen()
        tmux("send-keys", "-t", "t", "q")
        deadline = time.monotonic() + scaled(20)
        while "NAME" in screen():
            assert time.monotonic() < deadline, "the app did not quit"
            time.sleep(0.1)
    finally:
        kill_pid(server)  # the private tmux server, and with it the app if still open


def test_bare_agent_not_on_a_terminal_prints_the_help(env: Env) -> None:
    r = env.ok()
    assert r.out.startswith("usage: agent") and "the live view of every task" in r.out
    r = env.agent("tui")
    assert r.code == 2 and r.err.count("\n") == 1 and "needs a terminal" in r.err
