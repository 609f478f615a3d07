"""Screen-based blocked detection: patterns, position, idle time, edge triggering."""

from __future__ import annotations

from agentd.worker.detect import ScreenWatch


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
    w = ScreenWatch([r"Proceed\? \(y/n\)"], [r"thinking"], 0)
    assert verdicts(w, [["working"], ["Proceed? (y/n)"], ["Proceed? (y/n)"],
                        ["Proceed? (y/n) y", "thinking..."]]) == [
        None, "waiting", None, "resumed"]


def test_dialog_below_a_busy_line_is_waiting() -> None:
    w = ScreenWatch([r"Would you like to run"], [r"esc to interrupt"], 0)
    assert verdicts(w, [["Working (esc to interrupt)", "Would you like to run it?"]]) == [
        "waiting"]


def test_question_gone_without_busy_sign_keeps_the_verdict() -> None:
    w = ScreenWatch([r"Do you want to"], [r"esc to interrupt"], 0)
    assert verdicts(w, [["Do you want to proceed?"], ["> "]]) == ["waiting", None]
    bare = ScreenWatch([r"Do you want to"], [], 0)
    assert verdicts(bare, [["Do you want to proceed?"], ["> "]]) == ["waiting", "resumed"]


def test_idle_then_output_again() -> None:
    w = ScreenWatch([], [], 2)
    assert w.active
    event = w.check(10.0, 7.0, lambda: ["$ "])
    assert event and event["kind"] == "waiting" and event["attention"] == "notice"
    w.saw_output()
    event = w.check(11.0, 10.5, lambda: ["more output"])
    assert event and event["kind"] == "resumed"


def test_input_makes_a_standing_question_count_again() -> None:
    w = ScreenWatch([r"\[y/n\]"], [], 0)
    assert verdicts(w, [["ok? [y/n]"]]) == ["waiting"]
    w.saw_input(150.0)
    assert verdicts(w, [["ok? [y/n] x", "ok? [y/n]"]], now=200.0) == ["waiting"]


def test_no_second_look_right_after_input() -> None:
    w = ScreenWatch([r"\[y/n\]"], [], 0)
    assert verdicts(w, [["ok? [y/n]"]]) == ["waiting"]
    w.saw_input(300.0)
    w.saw_output()
    # At once the question is still on screen: the agent has not reacted yet.
    assert w.check(300.1, 300.1, lambda: ["ok? [y/n]"]) is None
    event = w.check(300.6, 300.1, lambda: ["ok? [y/n]"])  # still asking half a second on
    assert event and event["kind"] == "waiting"
