"""The thread that writes a direct attacher's terminal while it is behind.

The worker writes output to a direct attacher's terminal itself, inline and non-blocking,
while the terminal takes it (a keystroke's echo costs no thread hand-off). When a write is
cut short, what is left — and all output after it, in order, until the terminal has caught
up — goes to a `TtyWriter`: a thread that writes it with *blocking* writes of everything
queued, to a descriptor of its own of the same terminal. The kernel then waits for room and
goes on inside one system call, while the worker's loop goes on reading the agent's PTY:
the reading and the draining of a flood overlap in one process, where spilling it over the
socket to the client took two (docs/performance.md, "A writer thread for floods").

The queue is bounded by the caller (LIMIT in worker/clients.py): past it, the caller
replaces what is queued with a repaint (`replace`), as a client's socket queue is resynced.
`stop` ends the thread at once, even inside a write to a terminal that takes nothing: its
descriptor is made non-blocking and the thread is interrupted with SIGURG (whose default
action is to ignore it), so the write returns what it wrote so far and nothing more
reaches the terminal after `stop` returns.
"""

from __future__ import annotations

import _thread
import os
import signal
from collections import deque

INTERRUPT = signal.SIGURG
JOIN = 1.0  # at most this long for a stopped writer to come out of its write


def reopen(fd: int) -> int:
    """A new open file description of the terminal behind `fd`, for blocking writes (its
    flags are its own: the inline writes keep their non-blocking one). -1 if the terminal
    cannot be opened again here."""
    try:
        return os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return -1


def interruptible() -> None:
    """A handler for INTERRUPT, so it interrupts a system call instead of being discarded
    (installed once, from the main thread; elsewhere signal.signal refuses, and the
    handler the main thread installed serves)."""
    if signal.getsignal(INTERRUPT) in (signal.SIG_DFL, signal.SIG_IGN, None):
        try:
            signal.signal(INTERRUPT, lambda *_: None)
        except ValueError:  # not the main thread
            pass


class TtyWriter:
    """Blocking writes of what the worker queues, in order, on a thread of their own."""

    __slots__ = ("fd", "queue", "queued", "busy", "failed", "stopped", "cond", "thread",
                 "writing")

    def __init__(self, fd: int) -> None:
        import threading  # only once a terminal is behind: a worker's memory stays small

        self.fd = fd  # blocking; the thread closes it when it ends
        self.queue: deque[bytes] = deque()
        self.queued = 0  # bytes in `queue` (not counting a write under way)
        self.busy = False  # something is queued or being written: output must queue too
        self.failed = False  # the terminal is gone (a write failed)
        self.stopped = False
        self.writing = False  # inside os.write
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="tty-writer", daemon=True)
        self.thread.start()

    def put(self, data: bytes) -> None:
        with self.cond:
            self.queue.append(data)
            self.queued += len(data)
            self.busy = True
            self.cond.notify()

    def replace(self, data: bytes) -> None:
        """Drop what is queued (a write under way finishes) and queue `data` instead."""
        with self.cond:
            self.queue.clear()
            self.queue.append(data)
            self.queued = len(data)
            self.busy = True
            self.cond.notify()

    def idle(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for everything queued to be written."""
        with self.cond:
            return self.cond.wait_for(lambda: not self.busy, timeout)

    def stop(self) -> None:
        """Nothing more is written once this returns (bar a write that would not end)."""
        with self.cond:
            self.stopped = True
            self.queue.clear()
            self.queued = 0
            self.cond.notify_all()
            if self.writing:  # the thread is inside its write loop until it has the lock
                try:
                    os.set_blocking(self.fd, False)  # a write begun now returns at once
                    signal.pthread_kill(self.thread.ident or 0, INTERRUPT)  # one under way
                except (OSError, ProcessLookupError):
                    pass
        if self.thread.ident != _thread.get_ident():
            self.thread.join(JOIN)

    def _run(self) -> None:
        cond, queue = self.cond, self.queue
        try:
            while True:
                with cond:
                    while not queue and not self.stopped:
                        self.busy = False
                        cond.notify_all()
                        cond.wait()
                    if self.stopped:
                        return
                    data = queue[0] if len(queue) == 1 else b"".join(queue)
                    queue.clear()
                    self.queued = 0
                    self.writing = True
                view = memoryview(data)
                while view and not self.stopped:
                    try:
                        n = os.write(self.fd, view)
                    except BlockingIOError:
                        break  # stopped while writing: made non-blocking
                    view = view[n:]
                with cond:
                    self.writing = False
        except OSError:
            with cond:
                self.failed = True
                self.writing = False
        finally:
            with cond:
                self.busy = False
                self.queue.clear()
                self.queued = 0
                cond.notify_all()
            os.close(self.fd)
