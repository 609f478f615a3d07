"""Input for the agent: the queue writes in order, input held for later is never overtaken,
a full PTY is waited on; the prompt is typed once the agent is ready for it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from agentd.worker.inputs import PROMPT_QUIET, PROMPT_WAIT, InputQueue, PromptTyper


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Pipe:
    """A real pipe standing in for the PTY master: the queue writes, the test reads."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe2(os.O_NONBLOCK)
        self.interest: list[bool] = []
        self.armed: list[object] = []
        self.clock = Clock()
        self.inputs = InputQueue(self.w, self.interest.append, self.armed.append, self.clock)

    def read(self) -> bytes:
        try:
            return os.read(self.r, 1 << 20)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        os.close(self.r)
        os.close(self.w)


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    p = Pipe()
    yield p
    p.close()


def test_input_is_written_at_once(pipe: Pipe) -> None:
    pipe.inputs.send(b"hello")
    assert pipe.read() == b"hello"
    assert pipe.inputs.pending == 0 and pipe.inputs.deadline() is None
    assert pipe.armed == [] and pipe.interest == []


def test_nothing_overtakes_input_held_for_later(pipe: Pipe) -> None:
    q = pipe.inputs
    q.send(b"text")
    q.send(b"\r", delay=0.1)
    q.send(b"more")  # no delay of its own, but it comes after the Enter
    assert pipe.read() == b"text"
    assert q.deadline() == pytest.approx(100.1) and pipe.armed == [q, q]
    q.fire(100.05)
    assert pipe.read() == b""
    q.fire(100.1)
    assert pipe.read() == b"\rmore" and q.deadline() is None


def test_a_shorter_delay_waits_for_a_longer_one_before_it(pipe: Pipe) -> None:
    q = pipe.inputs
    q.send(b"a", delay=1.0)
    pipe.clock.now = 100.5
    q.send(b"b", delay=0.1)  # due at 100.6 by itself, but after "a"
    q.fire(100.6)
    assert pipe.read() == b""
    q.fire(101.0)
    assert pipe.read() == b"ab"


def test_a_full_pty_is_waited_on(pipe: Pipe) -> None:
    q = pipe.inputs
    big = b"x" * (1 << 20)  # more than a pipe holds
    q.send(big)
    assert q.pending > 0 and pipe.interest == [True]  # watch the PTY for room
    got = b""
    while q.pending:
        got += pipe.read()
        q.write()  # what the loop does when the PTY is writable
    got += pipe.read()
    assert got == big and pipe.interest == [True, False]


def test_input_after_the_pty_closed_goes_nowhere(pipe: Pipe) -> None:
    q = pipe.inputs
    q.send(b"\r", delay=0.1)
    q.close()
    q.send(b"late")
    assert q.pending == 0 and q.deadline() is None
    assert pipe.read() == b""


class Typer:
    def __init__(self, prompt: str = "fix the bug") -> None:
        self.typed: list[bytes] = []
        self.last_output = 0.0
        self.armed: list[object] = []
        self.typer = PromptTyper(prompt, self.typed.append, lambda: self.last_output, 100.0,
                                 self.armed.append)


def test_the_prompt_waits_for_the_agent_to_go_quiet() -> None:
    t = Typer()
    assert t.armed == [t.typer] and t.typer.deadline() == 100.0 + PROMPT_WAIT
    t.last_output = 101.0  # the agent draws its start-up screen
    assert t.typer.deadline() == 101.0 + PROMPT_QUIET
    t.typer.fire(101.3)
    t.last_output = 101.4  # still drawing
    t.typer.fire(101.5)
    assert t.typed == []
    t.typer.fire(101.95)
    assert t.typed == [b"fix the bug\r"]
    assert t.typer.deadline() is None
    t.typer.fire(200.0)
    assert t.typed == [b"fix the bug\r"]  # once


def test_the_prompt_is_typed_after_the_wait_without_output_or_through_it() -> None:
    silent = Typer("go")
    silent.typer.fire(100.0 + PROMPT_WAIT - 0.01)
    assert silent.typed == []
    silent.typer.fire(100.0 + PROMPT_WAIT)
    assert silent.typed == [b"go\r"]
    chatty = Typer("go")
    chatty.last_output = 100.0 + PROMPT_WAIT  # output never pauses
    chatty.typer.fire(100.0 + PROMPT_WAIT)
    assert chatty.typed == [b"go\r"]


def test_the_prompt_goes_behind_input_held_for_later(pipe: Pipe) -> None:
    q = pipe.inputs
    typer = PromptTyper("hi", q.send, lambda: 0.0, 100.0, pipe.armed.append)
    q.send(b"y")
    q.send(b"\r", delay=10.0)
    typer.fire(100.0 + PROMPT_WAIT)
    assert pipe.read() == b"y"
    q.fire(110.0)
    assert pipe.read() == b"\rhi\r"
