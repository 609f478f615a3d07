"""The session worker's loop: one selector over the PTY, the socket, its clients and a
signal pipe, and the parts that keep time (kill plan, input held for later, prompt typing,
screen watch). A part exposes `deadline()` (monotonic time it wants to `fire(now)`, or None)
and arms itself when it gets one; the loop sleeps until the soonest deadline of the armed
parts, and forgets a part once it has none. With nothing armed (the usual case) the loop
does no timer work at all.
"""

from __future__ import annotations

import errno
import os
import selectors
import signal
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

from agentd.jsonlog import JsonLog
from agentd.logfiles import RawLog
from agentd.procs import signal_group
from agentd.protocol import codec
from agentd.protocol.messages import Failure, Input, Invalid, Push, Request
from agentd.protocol.views import WorkerSpec
from agentd.unix import bind_private
from agentd.worker.clients import CONTROL, READ_ONLY, Client, Clients, Tty
from agentd.worker.inputs import InputQueue, PromptTyper
from agentd.worker.killplan import KillPlan
from agentd.worker.process import AgentProcess, exit_code_of
from agentd.worker.report import report_events, report_exit
from agentd.worker.requests import Requests
from agentd.worker.screen import Screen
from agentd.worker.termquery import QUERY, answers
from agentd.worker.watch import ScreenWatch

READ_SIZE = 65536
COALESCE = 65536  # bytes gathered from consecutive PTY reads into one output batch
# PTY reads land in one buffer kept for the worker's life, not in a new 64 KB object per read
# (of which the kernel fills ~4 KB): those cost a page fault or two each, ~15 % of the
# worker's time in a flood (perf, docs/performance.md).
BUFFER = COALESCE + READ_SIZE
# A first read shorter than this took all the PTY had: no second read to be told EAGAIN (a
# line or an echo costs one read; epoll is level-triggered, so more output wakes the loop
# again). Once a batch is under way (a flood), reads go on until EAGAIN or COALESCE.
SHORT_READ = 2048
IDLE_SLICE = 16 * 1024  # emulator bytes fed per idle turn of the loop
# Past INLINE bytes behind, the emulator waits for a QUIET pause in the output: during a
# flood the loop only reads, logs and forwards (DESIGN §3), and the model catches up after.
INLINE = 8 * 1024
QUIET = 0.02
# With nobody connected, nothing looks at the screen between the watch's looks (at most twice
# a second), a terminal query or a new client, each of which feeds the model first: up to
# LAZY bytes wait for that, so a chatty detached session wakes once per line, not twice.
LAZY = 32 * 1024
# With nobody connected, a short read starts a hold: the PTY is not watched for HOLD seconds
# and what came meanwhile is read in one go, so a detached session printing a line now and
# then wakes its worker a few times a second, not once per line. A hold ends when a client
# connects, on a terminal query, or when it gathered HOLD_MAX bytes (the PTY buffers ~19 KB:
# more could block the agent); none in the first STARTUP seconds, while a prompt is typed, or
# for a read that follows other output closely (a flood has short reads too).
HOLD = 0.25
HOLD_MAX = 4096
HOLD_GAP = 0.05  # a hold starts only after a pause this long: never inside a stream
STARTUP = 2.0
KILL_AFTER_HANGUP = 5.0  # output ended but the agent lives on: SIGKILL this much later
ACCEPT_PAUSE = 0.2  # out of file descriptors: accepting waits this long, then tries again
OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
REFUSED = ("the session worker is out of file descriptors; close some of its connections "
           "(attached clients) or raise its open-files limit (ulimit -n), then retry")


class Part(Protocol):
    def deadline(self) -> float | None: ...

    def fire(self, now: float) -> None: ...


class Once:
    """A part that runs `action` once, at the time given to `at()`."""

    def __init__(self, action: Callable[[], None], arm: Callable[[Any], None]) -> None:
        self.action, self.arm = action, arm
        self.when: float | None = None

    def at(self, when: float) -> None:
        self.when = when
        self.arm(self)

    def deadline(self) -> float | None:
        return self.when

    def fire(self, now: float) -> None:
        self.when = None
        self.action()


class Worker:
    def __init__(self, spec: WorkerSpec, agent: AgentProcess, log: RawLog,
                 jlog: JsonLog) -> None:
        self.spec = spec
        self.agent = agent
        self.log = log
        self.jlog = jlog
        self.sel = selectors.DefaultSelector()
        self.screen = Screen(spec.cols, spec.rows)
        self.armed: dict[Part, None] = {}  # parts with a deadline, or that just had one
        arm = self.arm
        self.clients = Clients(self.sel, self.screen.snapshot, arm)
        self.last_output = 0.0  # monotonic time of the latest output
        self.killed_by_user = False
        self.kill = KillPlan(agent.pid, arm)
        self.inputs = InputQueue(agent.master, self.want_pty_write, arm)
        self.watch = ScreenWatch(
            spec.waiting_patterns, spec.busy_patterns, float(spec.idle_seconds),
            screen=self.screen, last_output=self.output_at,
            report=lambda event: report_events(spec, [event]), arm=arm)
        self.hangup = Once(self.hang_up, arm)
        self.hold = Once(self.end_hold_turn, arm)
        self.holding = False
        self.pty_bytes = 0  # read from the PTY so far
        self.hold_from = time.monotonic() + STARTUP
        self.read_view = memoryview(bytearray(BUFFER))
        self.accept_again = Once(self.resume_accepting, arm)
        self.starved = 0  # connections refused in this out-of-descriptors episode
        self.input_paused = False  # some clients are not read: the agent is behind on input
        self.typer: PromptTyper | None = None
        if spec.prompt_mode == "type" and spec.prompt:
            self.typer = PromptTyper(spec.prompt, self.inputs.send, self.output_at,
                                     time.monotonic(), arm)
        self.requests = Requests(
            session=spec.session_id, task=spec.task, agent=agent, screen=self.screen,
            clients=self.clients, inputs=self.inputs, watch=self.watch,
            terminate=self.terminate, log=jlog)

    def listen(self, server: socket.socket | None = None) -> None:
        """Serve `server` (bound by main before the loop's imports), or a new socket."""
        self.server = server or bind_private(self.spec.socket, 64)
        self.server.setblocking(False)
        self.spare = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.sel.register(self.server, selectors.EVENT_READ, "accept")
        self.sel.register(self.agent.master, selectors.EVENT_READ, "pty")
        self.sig_r, sig_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(sig_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        self.sel.register(self.sig_r, selectors.EVENT_READ, "signal")

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> int:
        self.reap()  # the agent may already have exited
        agent = self.agent
        while agent.status is None or agent.open:
            for key, mask in self.sel.select(self.timeout()):
                what = key.data
                if what.__class__ is Tty:  # a direct attacher's terminal: keys, or room
                    self.on_tty(what, mask)
                elif what == "pty":
                    if mask & selectors.EVENT_READ:
                        self.read_pty()
                    if mask & selectors.EVENT_WRITE:
                        self.inputs.write()
                elif what == "accept":
                    self.accept()
                elif what == "signal":
                    self.on_signal()
                else:
                    self.on_client(what, mask)
            if self.holding and self.clients.by_fd:
                self.stop_holding()
            self.timers()
            if self.input_paused and self.inputs.roomy:
                self.resume_input()
        return self.finish()

    def arm(self, part: Part) -> None:
        self.armed[part] = None

    def output_at(self) -> float:
        return self.last_output

    def timeout(self) -> float | None:
        behind = self.screen.behind
        if behind and (behind > LAZY or self.clients.by_fd):
            # The emulator is behind: feed it now, or in the next pause of the output.
            if behind <= INLINE:
                return 0
            return max(0.0, self.last_output + QUIET - time.monotonic())
        if not self.armed:
            return None  # the usual case: nothing scheduled
        soonest = None
        for part in list(self.armed):
            at = part.deadline()
            if at is None:
                del self.armed[part]
            elif soonest is None or at < soonest:
                soonest = at
        return None if soonest is None else max(0.0, soonest - time.monotonic())

    def timers(self) -> None:
        if self.armed:
            now = time.monotonic()
            for part in list(self.armed):
                at = part.deadline()
                if at is None:
                    del self.armed[part]
                elif at <= now:
                    part.fire(now)
        behind = self.screen.behind
        if (behind and (behind > LAZY or self.clients.by_fd)
                and (behind <= INLINE or time.monotonic() - self.last_output >= QUIET)
                and not self.sel.select(0)):
            self.screen.catch_up(IDLE_SLICE)

    # -- PTY -------------------------------------------------------------------------------

    def read_pty(self, drain: bool = False, gather: bool = False) -> None:
        """Read what the PTY has. The kernel hands out ~4 KB per read; reads are gathered
        up to COALESCE bytes so a flood costs one log write and one frame per client per
        batch, while a lone keystroke echo still goes out at once. `gather`: read on to
        EAGAIN (or COALESCE) even after a short read; `drain`: read everything."""
        master = self.agent.master
        view, readv = self.read_view, os.readv
        size = reads = 0
        while True:
            try:
                n: int | None = readv(master, [view[size:size + READ_SIZE]])
            except BlockingIOError:
                n = None
            except OSError:  # EIO: the slave side is closed
                n = 0
            if n:
                size += n
                reads += 1
                if size + READ_SIZE <= BUFFER and (drain or (
                        size < COALESCE and (gather or n >= SHORT_READ or reads > 1))):
                    continue
                if size < COALESCE and not drain:
                    n = None  # as good as EAGAIN: send what we have, wait for more
            if size:
                previous = self.last_output
                self.output(bytes(view[:size]))
                if (n is None and size < SHORT_READ and not drain and not self.holding
                        and self.last_output - previous >= HOLD_GAP
                        and not self.clients.by_fd and self.last_output >= self.hold_from
                        and (self.typer is None or self.typer.at is None)):
                    self.start_holding()
                size = reads = 0
            if n is None:
                if drain and self.agent.exited:
                    self.close_pty()
                return
            if not n:
                self.close_pty()
                return
            if not drain:
                return

    def log_trouble(self) -> None:
        problem = self.log.problem()
        if problem:
            self.jlog("error", "session log write failed", task=self.spec.task, error=problem)
            report_events(self.spec, [{"kind": "error", "attention": "notice",
                                       "summary": problem[:400],
                                       "data": {"source": "worker", "path": str(self.log.path),
                                                "dropped_bytes": self.log.dropped}}])

    def output(self, data: bytes) -> None:
        self.pty_bytes += len(data)
        clients = self.clients
        if clients.by_fd:  # the people watching first: latency
            clients.broadcast(data)
        self.log.write(data)
        if self.log.failing is not None:  # a full disk: say so once, keep the session going
            self.log_trouble()
        self.screen.write(data)
        self.last_output = time.monotonic()
        self.watch.saw_output()
        if clients.by_fd and self.screen.behind <= INLINE:
            self.screen.catch_up()  # a little output: cheaper now than another loop turn
        if clients.interactive is None:
            # A program that asks the terminal something waits for the answer, so the
            # question ends its write: only the tail needs a look.
            tail = data[-64:]
            if QUERY.search(tail):
                reply = answers(tail, lambda: self.screen.cursor()[:2])
                if reply:
                    self.inputs.send(reply)
                    if self.holding:  # it talks to its terminal: answer the next at once
                        self.stop_holding()

    def want_pty_write(self, on: bool) -> None:
        self.pty_interest()  # `on` is inputs.writing, which pty_interest reads

    def pty_interest(self) -> None:
        """(Re-)register the PTY for what the loop waits for now: output unless holding,
        room to write while input waits."""
        if not self.agent.open:
            return
        events = ((0 if self.holding else selectors.EVENT_READ)
                  | (selectors.EVENT_WRITE if self.inputs.writing else 0))
        master = self.agent.master
        registered = master in self.sel.get_map()
        if events and registered:
            self.sel.modify(master, events, "pty")
        elif events:
            self.sel.register(master, events, "pty")
        elif registered:
            self.sel.unregister(master)

    def start_holding(self) -> None:
        self.holding = True
        self.pty_interest()
        self.hold.at(time.monotonic() + HOLD)

    def stop_holding(self) -> None:
        self.holding = False
        self.hold.when = None
        self.pty_interest()

    def end_hold_turn(self) -> None:
        """A hold is over: read what came; go on holding while it is a trickle."""
        if not self.holding or not self.agent.open:
            return
        before = self.pty_bytes
        self.read_pty(gather=True)
        got = self.pty_bytes - before
        if self.holding and 0 < got < HOLD_MAX and not self.clients.by_fd:
            self.hold.at(time.monotonic() + HOLD)
        elif self.holding:
            self.stop_holding()

    def hang_up(self) -> None:
        """The agent has exited: read what is left of its output, then close the PTY."""
        if self.agent.open:
            self.read_pty(drain=True)

    def close_pty(self) -> None:
        if not self.agent.open:
            return
        if self.agent.master in self.sel.get_map():
            self.sel.unregister(self.agent.master)
        self.holding = False
        self.agent.close()
        self.inputs.close()
        if not self.agent.exited:
            # Output ended first; the exit status follows through SIGCHLD.
            self.kill.start([(KILL_AFTER_HANGUP, signal.SIGKILL)], time.monotonic())

    # -- signals and exit ------------------------------------------------------------------

    def on_signal(self) -> None:
        try:
            sigs = os.read(self.sig_r, 512)
        except BlockingIOError:
            return
        if signal.SIGCHLD in sigs:
            self.reap()
        if any(s in sigs for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)):
            self.terminate(3.0)

    def reap(self) -> None:
        if not self.agent.reap():
            return
        self.kill.cancel()
        self.watch.stop()
        # Whatever the agent left behind in its group loses its terminal too.
        signal_group(self.agent.pid, signal.SIGHUP)
        self.hangup.at(time.monotonic())  # read what is left, then hang up the PTY

    def terminate(self, grace: float) -> None:
        if self.agent.exited:
            return
        self.killed_by_user = True
        self.kill.terminate(grace, time.monotonic())

    def finish(self) -> int:
        status = self.agent.status or 0
        code = exit_code_of(status)
        if os.WIFSIGNALED(status):
            reason = f"killed by signal {os.WTERMSIG(status)}"
        else:
            reason = f"exited with code {code}"
        self.log.close()
        self.jlog("info", f"agent {reason}", task=self.spec.task, exit_code=code,
                  by_user=self.killed_by_user, dropped_screen_bytes=self.screen.dropped)
        report_exit(self.spec, code, reason)
        self.clients.end(Push("exited", {"exit_code": code, "reason": reason}), within=2.0)
        try:
            os.unlink(self.spec.socket)
        except FileNotFoundError:
            pass
        return code

    # -- clients ---------------------------------------------------------------------------

    def on_tty(self, t: Tty, mask: int) -> None:
        """A direct attacher's terminal: keystrokes for the agent (up to the detach key)."""
        c = t.client
        if mask:
            try:
                data = os.read(t.fd, 4096)
            except BlockingIOError:
                data = None
            except OSError:  # EIO: the terminal hung up
                data = b""
            if data == b"":
                self.clients.detach(c, "the terminal closed")
                return
            if data:
                key = t.detach_key
                cut = data.find(key) if key else -1
                keys = data if cut < 0 else data[:cut]
                if keys:
                    self.inputs.send(keys)
                    self.watch.saw_input(time.monotonic())
                if cut >= 0:
                    self.clients.detach(c, "detached by the user")
                    return

    def accept(self) -> None:
        """Out of file descriptors, refuse one waiting client with an error frame, through a
        spare descriptor (so the socket is not readable forever), log once per episode, and
        accept again ACCEPT_PAUSE later; the agent and the clients already connected go on."""
        try:
            self.clients.accept(self.server)
        except OSError as e:
            if e.errno not in OUT_OF_FDS:
                self.jlog("error", "accept failed", task=self.spec.task, error=repr(e))
                return
            self.out_of_fds(e.strerror)
        else:
            if self.starved:
                self.jlog("warning", "accepting connections again", task=self.spec.task,
                          refused=self.starved)
                self.starved = 0

    def out_of_fds(self, error: str | None) -> None:
        if self.spare >= 0:
            os.close(self.spare)
            self.spare = -1
        if not self.starved:
            self.jlog("error", "out of file descriptors: refusing new connections until "
                      "some close", task=self.spec.task, error=error)
        self.starved += 1
        try:
            sock, _ = self.server.accept()
        except OSError:
            pass
        else:
            try:  # why, rather than a bare close
                sock.setblocking(False)
                sock.send(codec.encode(Failure(None, "error", REFUSED)))
            except OSError:
                pass
            sock.close()
        try:
            self.spare = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            pass
        self.sel.unregister(self.server)
        self.accept_again.at(time.monotonic() + ACCEPT_PAUSE)

    def resume_accepting(self) -> None:
        if self.spare < 0:
            try:
                self.spare = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                pass
        self.sel.register(self.server, selectors.EVENT_READ, "accept")

    def resume_input(self) -> None:
        self.input_paused = False
        for c in self.clients.paused:
            self.clients.pause(c, False)

    def on_client(self, c: Client, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self.clients.flush(c, writable=True)
        if mask & selectors.EVENT_READ and c.fd in self.clients.by_fd:
            try:
                if c.mode == CONTROL:  # not attached yet: it may hand over its terminal
                    data, fds, _, _ = socket.recv_fds(c.sock, 65536, 4)
                    self.took_fds(c, fds)
                else:
                    data = c.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                if c.tty is None and c.frames:  # half-closed: what it is owed still goes
                    c.closing = True
                    self.clients.pause(c, True)
                    self.clients.flush(c)
                else:
                    self.clients.drop(c)  # a direct attacher's terminal is let go of at once
                return
            for msg in c.decoder.feed(data):
                self.handle(c, msg)
                if c.fd not in self.clients.by_fd:
                    return

    @staticmethod
    def took_fds(c: Client, fds: list[int]) -> None:
        """Descriptors that came with a client's bytes wait for its `attach`; only the
        latest one is kept."""
        for fd in fds:
            os.set_inheritable(fd, False)
        if fds:
            for fd in c.fds + fds[:-1]:
                os.close(fd)
            c.fds = fds[-1:]

    def handle(self, c: Client, msg: Any) -> None:
        if isinstance(msg, Input):
            if c.mode != READ_ONLY and (c.mode == CONTROL or c is self.clients.interactive):
                self.inputs.send(msg.data)
                self.watch.saw_input(time.monotonic())
                if self.inputs.full:  # back-pressure: read no more until the agent has
                    self.clients.pause(c, True)
                    self.input_paused = True
        elif isinstance(msg, Request):
            self.requests.dispatch(c, msg)
        elif isinstance(msg, Invalid):
            self.clients.send(c, Failure(msg.id, "protocol", msg.reason))
            if msg.fatal:
                c.closing = True
                self.clients.flush(c)
        else:
            self.clients.send(c, Failure(None, "protocol",
                                         f"unexpected {type(msg).__name__} frame"))
