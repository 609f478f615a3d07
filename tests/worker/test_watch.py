"""Screen-based blocked detection: patterns, position, idle time, edge triggering."""

from __future__ import annotations

from typing import Any

from agentd.worker.screen import Screen
from agentd.worker.watch import FAR_BEHIND, ScreenWatch


class Sources:
    """What a watch reads and where it reports: a real screen, a clock of the latest
    output, the events reported and the times it armed itself."""

    def __init__(self) -> None:
        self.screen = Screen(40, 5)
        self.last_output = 0.0
        self.events: list[dict[str, Any]] = []
        self.armed = 0

    def watch(self, waiting: list[str], busy: list[str], idle: float) -> ScreenWatch:
        return ScreenWatch(waiting, busy, idle, screen=self.screen,
                           last_output=lambda: self.last_output, report=self.events.append,
                           arm=self.arm)

    def arm(self, part: object) -> None:
        self.armed += 1

    def output(self, w: ScreenWatch, data: bytes, now: float) -> None:
        self.screen.write(data)
        self.last_output = now
        w.saw_output()


def watch(waiting: list[str], busy: list[str], idle: float) -> ScreenWatch:
    return Sources().watch(waiting, busy, idle)


def verdicts(watch: ScreenWatch, screens: list[list[str]],
             now: float = 100.0) -> list[str | None]:
    out = []
    for lines in screens:
        watch.saw_output()
        now += 1
        event = watch.check(now, now, lambda lines=lines: lines)
        out.append(event["kind"] if event else None)
    return out


def test_question_then_busy_below_it() -> None:
    w = watch([r"Proceed\? \(y/n\)"], [r"thinking"], 0)
    assert verdicts(w, [["working"], ["Proceed? (y/n)"], ["Proceed? (y/n)"],
                        ["Proceed? (y/n) y", "thinking..."]]) == [
        None, "waiting", None, "resumed"]


def test_dialog_below_a_busy_line_is_waiting() -> None:
    w = watch([r"Would you like to run"], [r"esc to interrupt"], 0)
    assert verdicts(w, [["Working (esc to interrupt)", "Would you like to run it?"]]) == [
        "waiting"]


def test_question_gone_without_busy_sign_keeps_the_verdict() -> None:
    w = watch([r"Do you want to"], [r"esc to interrupt"], 0)
    assert verdicts(w, [["Do you want to proceed?"], ["> "]]) == ["waiting", None]
    bare = watch([r"Do you want to"], [], 0)
    assert verdicts(bare, [["Do you want to proceed?"], ["> "]]) == ["waiting", "resumed"]


def test_idle_then_output_again() -> None:
    w = watch([], [], 2)
    assert w.active
    event = w.check(10.0, 7.0, lambda: ["$ "])
    assert event and event["kind"] == "waiting" and event["attention"] == "notice"
    w.saw_output()
    event = w.check(11.0, 10.5, lambda: ["more output"])
    assert event and event["kind"] == "resumed"


def test_input_makes_a_standing_question_count_again() -> None:
    w = watch([r"\[y/n\]"], [], 0)
    assert verdicts(w, [["ok? [y/n]"]]) == ["waiting"]
    w.saw_input(150.0)
    assert verdicts(w, [["ok? [y/n] x", "ok? [y/n]"]], now=200.0) == ["waiting"]


def test_no_second_look_right_after_input() -> None:
    w = watch([r"\[y/n\]"], [], 0)
    assert verdicts(w, [["ok? [y/n]"]]) == ["waiting"]
    w.saw_input(300.0)
    w.saw_output()
    # At once the question is still on screen: the agent has not reacted yet.
    assert w.check(300.1, 300.1, lambda: ["ok? [y/n]"]) is None
    event = w.check(300.6, 300.1, lambda: ["ok? [y/n]"])  # still asking half a second on
    assert event and event["kind"] == "waiting"


def test_the_watch_looks_at_the_screen_after_output_and_reports() -> None:
    src = Sources()
    w = src.watch([r"Proceed\?"], [], 0)
    assert w.deadline() is None and src.armed == 0  # nothing new on screen
    src.output(w, b"thinking\r\n", now=10.0)
    src.output(w, b"Proceed? ", now=10.1)
    assert src.armed == 1  # once per look, not per read
    assert w.deadline() == 0.5  # half a second after the last look (none yet)
    w.fire(10.2)
    assert [e["kind"] for e in src.events] == ["waiting"]
    assert src.events[0]["data"] == {"source": "screen", "pattern": r"Proceed\?"}
    assert w.deadline() is None  # looked; nothing new since
    src.output(w, b"y\r\nworking\r\n\x1b[2J", now=11.0)
    assert w.deadline() == 10.7
    w.fire(11.0)
    assert [e["kind"] for e in src.events] == ["waiting", "resumed"]


def test_idle_deadline_follows_the_latest_output() -> None:
    src = Sources()
    w = src.watch([], [], 2)
    src.output(w, b"$ ", now=50.0)
    w.fire(50.6)  # a look: still busy, nothing to say
    assert src.events == [] and w.deadline() == 52.0
    src.last_output = 51.0  # more output (the screen watch is already due to look)
    assert w.deadline() == 53.0
    w.fire(53.0)
    assert [e["summary"] for e in src.events] == ["no output for 2s"]
    assert w.deadline() is None  # idle until output comes again


def test_no_look_while_the_screen_is_far_behind_nor_after_exit() -> None:
    src = Sources()
    w = src.watch([r"Proceed\?"], [], 0)
    src.output(w, b"Proceed? " + b"x" * FAR_BEHIND, now=1.0)
    w.fire(2.0)
    assert src.events == [] and src.screen.behind >= FAR_BEHIND  # not fed to look
    src.screen.catch_up()
    w.fire(2.0)
    assert src.events == [] and w.deadline() is None  # looked (the question scrolled off)
    w.stop()
    src.output(w, b"\x1b[2J\x1b[HProceed?", now=3.0)
    assert w.deadline() is None
    w.fire(4.0)
    assert src.events == []


def test_an_inactive_watch_never_arms() -> None:
    src = Sources()
    w = src.watch([], [r"busy"], 0)  # busy patterns alone decide nothing
    src.output(w, b"busy", now=1.0)
    w.saw_input(2.0)
    assert src.armed == 0 and w.deadline() is None
