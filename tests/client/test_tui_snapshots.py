"""Snapshots of the TUI's main screens (pytest-textual-snapshot), at 80×24 and 160×48, in
colour and with NO_COLOR. Deterministic: the tasks are fixed data served by a stand-in for
the daemon's client (names, times, tokens) and the app's clock is fixed, so ELAPSED never
drifts. What the tasks look like against a real daemon is tests/client/test_tui.py.

Update after an intended change: pytest tests/client/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from textual.pilot import Pilot

from agentd.client.tui.app import AgentApp
from agentd.protocol.views import TaskView

NOW = 1_780_000_000.0  # the app's clock


def iso(ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - ago))


def task(name: str, status: str, ago: float, attention: str | None = None,
         summary: str | None = None, workspace: str = "/src/shop", agent: str = "claude",
         tokens: tuple[int, int] | None = None, cost: float | None = None,
         ended: float | None = None, prompt: str = "") -> TaskView:
    view: TaskView = TaskView.from_wire({
        "name": name, "agent": agent, "status": status, "attention": attention,
        "attention_summary": summary, "prompt": prompt, "workspace": workspace,
        "created_at": iso(ago), "ended_at": iso(ended) if ended is not None else None,
        "tokens_in": tokens[0] if tokens else None, "tokens_out": tokens[1] if tokens else None,
        "cost_usd": cost, "session": f"s-{name}"})
    return view


TASKS = [
    task("fix-auth-tests", "blocked", 3720, "action",
         "Allow Bash(pytest tests/auth)? [y/n] [markup]not markup[/markup]",
         tokens=(48_200, 3_100), cost=0.42),
    task("docs-typos", "blocked", 600, "notice", "waiting for the next prompt",
         agent="codex", tokens=(9_100, 800), cost=0.05),
    task("refactor-cart", "running", 95, tokens=(120_000, 15_500), cost=1.87),
    task("bump-deps", "completed", 90_000, ended=86_000, workspace="/src/infra",
         agent="aider", tokens=(2_000, 300), cost=0.01),
    task("flaky-ci", "failed", 7200, ended=7000, workspace="/src/infra", agent="gemini"),
    task("old-spike", "killed", 200_000, ended=190_000, agent="demo"),
]


class FixedData:
    """The calls the app makes, answered from fixed data (no daemon: nothing moves)."""

    def client_settings(self) -> dict[str, Any]:
        return {"tui_bell": False, "scrollback_lines": 100, "detach_key": "C-]"}

    def list_tasks(self, all: bool = False) -> list[TaskView]:
        return list(TASKS)


def make_app(monkeypatch: pytest.MonkeyPatch, colour: bool) -> AgentApp:
    if colour:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", "1")
    return AgentApp(FixedData(), clock=lambda: NOW, follow=False,  # type: ignore[arg-type]
                    preview=False, tick=0, workspace="/src/shop")


async def loaded(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, AgentApp)
    while not app.loaded:
        await pilot.pause(0.02)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("colour", [True, False], ids=["colour", "no-colour"])
def test_main_screen(snap_compare: Any, monkeypatch: pytest.MonkeyPatch,
                     size: tuple[int, int], colour: bool) -> None:
    assert snap_compare(make_app(monkeypatch, colour), terminal_size=size,
                        run_before=loaded)


@pytest.mark.parametrize("colour", [True, False], ids=["colour", "no-colour"])
def test_help_screen(snap_compare: Any, monkeypatch: pytest.MonkeyPatch,
                     colour: bool) -> None:
    assert snap_compare(make_app(monkeypatch, colour), terminal_size=(80, 24),
                        press=["question_mark"], run_before=loaded)


def test_very_narrow_shows_the_list_only(snap_compare: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert snap_compare(make_app(monkeypatch, False), terminal_size=(50, 20),
                        run_before=loaded)
