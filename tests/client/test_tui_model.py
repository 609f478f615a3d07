"""The TUI's plain data (agentd.client.tui.model): order, groups, filters, cells, usage and
the thread built from events."""

from __future__ import annotations

from agentd.client.tui import model
from agentd.protocol.views import EventView
from tests.client.test_tui_snapshots import NOW, TASKS, task


def names(groups: list[tuple[str | None, list]]) -> list[tuple[str | None, list[str]]]:
    return [(repo, [t.name for t in ts]) for repo, ts in groups]


def test_order_groups_and_filters() -> None:
    assert names(model.visible(TASKS)) == [
        ("shop", ["fix-auth-tests", "docs-typos", "refactor-cart", "old-spike"]),
        ("infra", ["flaky-ci", "bump-deps"])]
    one_repo = [t for t in TASKS if t.workspace == "/src/shop"]
    assert names(model.visible(one_repo))[0][0] is None  # one repository: no group line
    assert names(model.visible(TASKS, status="attention")) == [
        (None, ["fix-auth-tests", "docs-typos"])]
    assert names(model.visible(TASKS, query="NEXT prompt")) == [(None, ["docs-typos"])]
    assert names(model.visible(TASKS, status="ended", query="flaky")) == [
        (None, ["flaky-ci"])]


def test_cells_read_without_colour_and_elapsed_follows_the_clock() -> None:
    t = task("x", "blocked", 59, "action", "ask\x1b]52;c;AAAA\x07 me", tokens=(1500, 20),
             cost=0.5)
    assert model.cells(t, NOW) == ("!", "x", "claude", "⚠ blocked", "59s", "1.5k/20", "$0.50")
    assert model.cells(t, NOW + 61)[4] == "2m"
    assert model.summary(t) == "ask]52;c;AAAA me"  # no escape reaches the screen
    ended = task("y", "completed", 1000, ended=400)
    assert model.cells(ended, NOW + 99999)[4] == "10m"


def test_usage_by_task_agent_model_and_day() -> None:
    usage = model.usage(TASKS)
    assert usage["agent"][0] == ("claude", 168_200, 18_600, 2.29)
    assert [r[0] for r in usage["task"]][:2] == ["refactor-cart", "fix-auth-tests"]
    assert usage["model"] == [("(not reported)", 179_300, 19_700, 2.35)]
    assert round(sum(r[3] for r in usage["day"]), 6) == 2.35


def test_thread_from_events() -> None:
    def ev(kind: str, data: dict, summary: str = "s") -> EventView:
        view: EventView = EventView.from_wire({"id": 1, "task": "x", "ts":
                                               "2026-01-01T10:11:12.000Z", "kind": kind,
                                               "attention": "info", "summary": summary,
                                               "data": data})
        return view

    rows = model.thread_from_events([
        ev("message", {"role": "user", "content": "hi\x1b[2J"}),
        ev("status_changed", {}),
        ev("tool_call", {"tool": "Bash", "input": {"command": "ls"}}),
        ev("tool_result", {"tool": "Bash", "output": "a\nb"}),
        ev("result", {}, summary="done")])
    assert rows == [("10:11:12", "user", "hi[2J"),
                    ("10:11:12", "tool Bash", '{"command": "ls"}'),
                    ("10:11:12", "result Bash", "a\nb"), ("10:11:12", "result", "done")]
