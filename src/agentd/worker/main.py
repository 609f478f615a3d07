"""Session worker: owns the PTY, the raw log, the screen model and sessions/<id>.sock.

Started by the daemon as `python -m agentd.worker SPEC.json`. It forks once: the first
process prints one JSON line (the pids, or the reason the agent could not start) and
exits, so the daemon never has to reap the long-lived worker, which survives it.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import sys
import time
from pathlib import Path
from typing import Any

from agentd.errors import AgentdError
from agentd.jsonlog import JsonLog
from agentd.logfiles import RawLog
from agentd.procs import escalation, signal_group
from agentd.protocol import codec
from agentd.protocol.messages import Failure, Input, Invalid, Output, Push, Reply, Request
from agentd.unix import bind_private, daemonize, detach_stdio, same_user
from agentd.worker import pty
from agentd.worker.detect import ScreenWatch
from agentd.worker.fanout import CONTROL, READ_ONLY, Client
from agentd.worker.queries import QUERY, answers
from agentd.worker.report import report_events, report_exit
from agentd.worker.requests import Requests
from agentd.worker.screen import Screen

READ_SIZE = 65536
COALESCE = 65536  # bytes gathered from consecutive PTY reads into one output batch
IDLE_SLICE = 16 * 1024  # emulator bytes fed per idle turn of the loop
# Past INLINE bytes behind, the emulator waits for a QUIET pause in the output: during a
# flood the loop only reads, logs and forwards (DESIGN §3), and the model catches up after.
INLINE = 8 * 1024
QUIET = 0.02
SPEC_KEYS = ("session_id", "task", "argv", "env", "cwd", "cols", "rows", "socket", "log",
             "log_max_bytes", "log_keep", "prompt_mode", "prompt", "daemon_socket", "db")


class Worker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.sid: str = spec["session_id"]
        self.requests = Requests(self)
        self.jlog = JsonLog(Path(spec["log"]).parent / "agentd.log", f"worker-{self.sid}")
        self.sel = selectors.DefaultSelector()
        self.screen = Screen(spec["cols"], spec["rows"])
        self.log = RawLog(Path(spec["log"]), spec["log_max_bytes"], spec["log_keep"])
        self.clients: dict[int, Client] = {}
        self.interactive: Client | None = None
        self.pid = 0
        self.master = -1
        self.exit_status: int | None = None
        self.pty_open = False
        self.kill_plan: list[tuple[float, int]] = []
        self.killed_by_user = False
        self.prompt_at: float | None = None
        self.last_output = 0.0
        self.input_queue = bytearray()
        self.pty_want_write = False
        self.delayed_input: list[tuple[float, bytes]] = []
        self.watch = ScreenWatch(spec.get("waiting_patterns", []), spec.get("busy_patterns", []),
                                 float(spec.get("idle_seconds", 0)))

    # -- start-up --------------------------------------------------------------------------

    def spawn(self) -> None:
        s = self.spec
        self.pid, self.master = pty.spawn(s["argv"], s["env"], s["cwd"], s["cols"], s["rows"])
        self.pty_open = True
        if s["prompt_mode"] == "type" and s["prompt"]:
            self.prompt_at = time.monotonic() + 5.0

    def listen(self) -> None:
        self.server = bind_private(self.spec["socket"], 64)
        self.server.setblocking(False)
        self.sel.register(self.server, selectors.EVENT_READ, "accept")
        self.sel.register(self.master, selectors.EVENT_READ, "pty")
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
        while self.exit_status is None or self.pty_open:
            for key, mask in self.sel.select(self.timeout()):
                what = key.data
                if what == "pty":
                    if mask & selectors.EVENT_READ:
                        self.read_pty()
                    if mask & selectors.EVENT_WRITE:
                        self.write_pty()
                elif what == "accept":
                    self.accept()
                elif what == "signal":
                    self.on_signal()
                else:
                    self.on_client(what, mask)
            self.timers()
        return self.finish()

    def timeout(self) -> float | None:
        if not (self.screen.behind or self.kill_plan or self.delayed_input or self.watch.active
                or self.prompt_at is not None or self.exit_status is not None):
            return None  # the usual case: nothing scheduled
        if self.screen.behind:
            if self.screen.behind <= INLINE:
                return 0
            return max(0.0, self.last_output + QUIET - time.monotonic())
        deadlines = [t for t, _ in self.kill_plan[:1]]
        deadlines += [t for t, _ in self.delayed_input[:1]]
        if self.prompt_at is not None:
            deadlines.append(self.prompt_at)
            if self.last_output:
                deadlines.append(self.last_output + 0.5)
        if self.exit_status is not None:
            deadlines.append(time.monotonic() + 0.05)
        watch = self.watch.deadline(self.last_output)
        if watch is not None and self.exit_status is None:
            deadlines.append(watch)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def timers(self) -> None:
        if not (self.screen.behind or self.kill_plan or self.delayed_input or self.watch.active
                or self.prompt_at is not None or self.exit_status is not None):
            return
        now = time.monotonic()
        while self.kill_plan and self.kill_plan[0][0] <= now:
            _, sig = self.kill_plan.pop(0)
            signal_group(self.pid, sig)
        if self.prompt_at is not None and (
            now >= self.prompt_at or (self.last_output and now - self.last_output > 0.5)
        ):
            self.prompt_at = None
            self.input_queue += self.spec["prompt"].encode() + b"\r"
            self.write_pty()
        while self.delayed_input and self.delayed_input[0][0] <= now:
            self.input_queue += self.delayed_input.pop(0)[1]
            self.write_pty()
        if self.watch.active and self.exit_status is None and self.screen.behind < (1 << 20):
            event = self.watch.check(now, self.last_output, self.screen.text)
            if event:
                report_events(self.spec, [event])
        if self.exit_status is not None and self.pty_open:
            # The agent is gone; drain what is left, then hang up the PTY.
            self.read_pty(drain=True)
        behind = self.screen.behind
        if (behind and (behind <= INLINE or now - self.last_output >= QUIET)
                and not self.sel.select(0)):
            self.screen.catch_up(IDLE_SLICE)

    # -- PTY -------------------------------------------------------------------------------

    def read_pty(self, drain: bool = False) -> None:
        """Read what the PTY has. The kernel hands out ~4 KB per read; reads are gathered
        up to COALESCE bytes so a flood costs one log write and one frame per client per
        batch, while a lone keystroke echo still goes out at once."""
        batch: list[bytes] = []
        size = 0
        while True:
            try:
                data = os.read(self.master, READ_SIZE)
            except BlockingIOError:
                data = None
            except OSError:  # EIO: the slave side is closed
                data = b""
            if data:
                batch.append(data)
                size += len(data)
                if drain or size < COALESCE:
                    continue
            if batch:
                self.output(batch[0] if len(batch) == 1 else b"".join(batch))
                batch, size = [], 0
            if data is None:
                if drain and self.exit_status is not None:
                    self.close_pty()
                return
            if not data:
                self.close_pty()
                return
            if not drain:
                return

    def output(self, data: bytes) -> None:
        if self.clients:  # the people watching first: latency
            frame = codec.encode(Output(data))
            for c in list(self.clients.values()):
                if c.attached:
                    self.push_to(c, frame)
        self.log.write(data)
        self.screen.write(data)
        self.last_output = time.monotonic()
        self.watch.saw_output()
        if self.screen.behind <= INLINE:
            self.screen.catch_up()  # a little output: cheaper now than another loop turn
        if self.interactive is None:
            # A program that asks the terminal something waits for the answer, so the
            # question ends its write: only the tail needs a look.
            tail = data[-64:]
            if QUERY.search(tail):
                reply = answers(tail, lambda: self.screen.cursor()[:2])
                if reply:
                    self.send_keys(reply)

    def close_pty(self) -> None:
        if not self.pty_open:
            return
        self.pty_open = False
        self.sel.unregister(self.master)
        os.close(self.master)
        if self.exit_status is None:
            # Output ended first; the exit status follows through SIGCHLD.
            self.kill_plan = [(time.monotonic() + 5, signal.SIGKILL)]

    def write_pty(self) -> None:
        if not self.pty_open:
            self.input_queue.clear()
            return
        while self.input_queue:
            try:
                n = os.write(self.master, self.input_queue[:4096])
            except BlockingIOError:
                break
            except OSError:
                self.input_queue.clear()
                break
            del self.input_queue[:n]
        if self.pty_want_write != bool(self.input_queue):
            self.pty_want_write = bool(self.input_queue)
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.input_queue else 0)
            self.sel.modify(self.master, events, "pty")

    def send_keys(self, data: bytes, delay: float = 0.0) -> None:
        """Queue input for the agent, in order: nothing overtakes input held for later."""
        if delay or self.delayed_input:
            last = self.delayed_input[-1][0] if self.delayed_input else 0.0
            self.delayed_input.append((max(time.monotonic() + delay, last), data))
            return
        self.input_queue += data
        self.write_pty()

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
        if self.exit_status is not None:
            return
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == self.pid:
            self.exit_status = status
            self.kill_plan = []
            # Whatever the agent left behind in its group loses its terminal too.
            signal_group(self.pid, signal.SIGHUP)

    def terminate(self, grace: float) -> None:
        if self.exit_status is not None:
            return
        self.killed_by_user = True
        now = time.monotonic()
        self.kill_plan = [(now + at, sig) for at, sig in escalation(grace)]
        self.timers()

    def finish(self) -> int:
        status = self.exit_status or 0
        code = pty.exit_code_of(status)
        if os.WIFSIGNALED(status):
            reason = f"killed by signal {os.WTERMSIG(status)}"
        else:
            reason = f"exited with code {code}"
        self.log.close()
        self.jlog("info", f"agent {reason}", task=self.spec["task"], exit_code=code,
                  by_user=self.killed_by_user,
                  dropped_screen_bytes=self.screen.dropped)
        report_exit(self.spec, code, reason)
        for c in list(self.clients.values()):
            if c.attached:
                c.send(Push("exited", {"exit_code": code, "reason": reason}))
                c.closing = True
        self.flush_all(deadline=time.monotonic() + 2.0)
        try:
            os.unlink(self.spec["socket"])
        except FileNotFoundError:
            pass
        return code

    def flush_all(self, deadline: float) -> None:
        pending = [c for c in self.clients.values() if c.frames]
        while pending and time.monotonic() < deadline:
            for c in pending:
                c.sock.setblocking(True)
                c.sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    c.flush()
                except OSError:
                    c.frames.clear()
            pending = [c for c in pending if c.frames]

    # -- clients ---------------------------------------------------------------------------

    def accept(self) -> None:
        try:
            sock, _ = self.server.accept()
        except BlockingIOError:
            return
        if not same_user(sock):
            sock.close()
            return
        sock.setblocking(False)
        c = Client(sock)
        self.clients[c.fd] = c
        self.sel.register(sock, selectors.EVENT_READ, c)

    def on_client(self, c: Client, mask: int) -> None:
        if mask & selectors.EVENT_WRITE:
            self.flush_client(c, writable=True)
        if mask & selectors.EVENT_READ and c.fd in self.clients:
            try:
                data = c.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self.drop(c)
                return
            for msg in c.decoder.feed(data):
                self.handle(c, msg)
                if c.fd not in self.clients:
                    return

    def push_to(self, c: Client, frame: bytes) -> None:
        if c.resync and frame[0] != codec.JSON:
            return  # it gets a snapshot once its socket drains
        was_idle = not c.frames
        c.queue(frame)
        if c.resync:
            self.want_write(c, True)
        elif was_idle:
            self.flush_client(c)

    def flush_client(self, c: Client, writable: bool = False) -> None:
        try:
            empty = c.flush()
        except OSError:
            self.drop(c)
            return
        if empty and c.resync and writable:
            # The client has drained: a fresh snapshot replaces the output it missed.
            c.resync = False
            c.send(Push("resync", {"reason": "client fell behind"}))
            c.send(Output(self.screen.snapshot()))
            empty = c.flush()
        if empty and c.closing:
            self.drop(c)
            return
        self.want_write(c, not empty or c.resync)

    def want_write(self, c: Client, on: bool) -> None:
        if c.want_write != on:  # an epoll_ctl only when interest changes
            c.want_write = on
            self.sel.modify(c.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if on else 0), c)

    def drop(self, c: Client) -> None:
        if self.clients.pop(c.fd, None) is None:
            return
        if self.interactive is c:
            self.interactive = None
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.close()

    def reply(self, c: Client, msg: Reply | Failure | Push) -> None:
        self.push_to(c, codec.encode(msg))

    def handle(self, c: Client, msg: Any) -> None:
        if isinstance(msg, Input):
            if c.mode != READ_ONLY and (c.mode == CONTROL or c is self.interactive):
                self.send_keys(msg.data)
                self.watch.saw_input(time.monotonic())
            return
        if isinstance(msg, Invalid):
            self.reply(c, Failure(msg.id, "protocol", msg.reason))
            if msg.fatal:
                c.closing = True
                self.flush_client(c)
            return
        if not isinstance(msg, Request):
            self.reply(c, Failure(None, "protocol", f"unexpected {type(msg).__name__} frame"))
            return
        handler = getattr(self.requests, f"req_{msg.name}", None)
        if handler is None:
            self.reply(c, Failure(msg.id, "protocol", f"unknown request {msg.name!r}"))
            return
        try:
            result = handler(c, msg.params)
        except AgentdError as e:
            self.reply(c, Failure(msg.id, e.code, e.message))
            return
        except (KeyError, TypeError, ValueError) as e:
            self.reply(c, Failure(msg.id, "usage", f"bad parameters for {msg.name}: {e}"))
            return
        if isinstance(result, Failure):
            self.reply(c, Failure(msg.id, result.code, result.message))
            return
        self.reply(c, Reply(msg.id, result))
        if msg.name == "attach":
            self.push_to(c, codec.encode(Output(self.screen.snapshot())))


def _relay_ready(line: str) -> int:
    """The launcher: relay the worker's ready line, then exit so the daemon can reap us."""
    sys.stdout.write(line or '{"error": "worker died during start-up"}\n')
    sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(argv[0]).read_text())
    missing = [k for k in SPEC_KEYS if k not in spec]
    if missing:
        print(json.dumps({"error": f"worker spec lacks {', '.join(missing)}"}), flush=True)
        return 2
    ready = daemonize(_relay_ready)
    if isinstance(ready, int):
        return ready
    worker = Worker(spec)
    try:
        worker.spawn()
    except pty.SpawnError as e:
        worker.jlog("error", "agent could not start", task=spec["task"], error=str(e))
        report_exit(spec, 127, str(e), failed_to_start=True)
        ready.send(json.dumps({"error": str(e)}) + "\n")
        return 127
    worker.listen()
    worker.jlog("info", "session started", task=spec["task"], pid=worker.pid,
                argv=spec["argv"], cwd=spec["cwd"])
    ready.send(json.dumps({"worker_pid": os.getpid(), "agent_pid": worker.pid}) + "\n")
    detach_stdio()
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())
