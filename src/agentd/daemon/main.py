"""agentd, the daemon: startup, main_loop, shutdown.

`agentd` runs in the foreground; `agentd --background` (what `agent` uses to start it on
demand) does every check that can fail in the foreground, reports the first problem on
stderr with a non-zero exit, and only then detaches.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from agentd import __version__, config
from agentd.daemon import notify
from agentd.daemon.artifacts import Artifacts
from agentd.daemon.handlers import Control, Handlers
from agentd.daemon.hub import Hub
from agentd.daemon.merge import Merges
from agentd.daemon.records import RecordWatcher
from agentd.daemon.server import Server
from agentd.daemon.sessions import Sessions
from agentd.daemon.tasks import Tasks
from agentd.errors import AgentdError, DaemonError
from agentd.jsonlog import JsonLog
from agentd.paths import Paths, root_too_long, runtime_root, too_long_message, unsafe
from agentd.pricing import Pricer
from agentd.records import Entry
from agentd.store.db import Store
from agentd.unix import bind_private, daemonize, detach_stdio

RECONCILE_SECONDS = 5.0
WRITE_WAIT = 0.25  # a write on the event loop waits this long for an outside lock
SHUTDOWN_SECONDS = 2.0  # for replies already written to reach their clients
REQUESTS_SECONDS = 60.0  # for requests being handled (a create_session) to finish


def load_paths() -> tuple[Paths, config.Config]:
    """The paths config.toml places; the root and the config file are checked first: a
    config planted by another user is never read."""
    root = runtime_root()
    plain = Paths.resolve(None, root)
    for path, directory in ((root, True), (plain.config, False)):
        problem = unsafe(path, directory)
        if problem:
            raise DaemonError(problem)
    cfg = config.load(plain.config)
    return Paths.resolve(cfg.data_dir, root), cfg


class Services:
    """Everything the daemon serves with, built in one place once the process owns its
    root (after the pid-file lock), and handed out explicitly."""

    def __init__(self, paths: Paths, load_config: Callable[[], config.Config],
                 log: JsonLog) -> None:
        self.store = Store(paths.db, wait=WRITE_WAIT)
        self.hub = Hub()
        self.store.on_commit = self.hub.notify
        self.store.price = Pricer(load_config)
        self.sessions = Sessions(paths, self.store, load_config, log)
        self.tasks = Tasks(paths, self.store, self.sessions, load_config, log)
        self.records = RecordWatcher(self.store, log)
        self.sessions.on_ended.append(self.session_ended)
        self.artifacts = Artifacts(paths, self.store, load_config, log)
        self.sessions.on_ended.append(self.artifacts.capture)
        self.merges = Merges(self.store, self.artifacts, self.tasks.repo_locks)

    async def session_ended(self, session: dict[str, Any]) -> None:
        """The last of its records, and how it ended, join the task's thread."""
        self.records.final_read(session)
        self.store.add_thread_entry(session["task_id"], session["id"], Entry(
            f"exit:{session['id']}", session["ended_at"], "system", "exit",
            {"exit_code": session["exit_code"], "reason": session["end_reason"]}))


@contextlib.contextmanager
def captured_signals(stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM, SIGINT and SIGHUP ask the daemon to stop; the previous handlers come back
    when serving ends (uvicorn's capture_signals)."""
    loop = asyncio.get_running_loop()
    sigs = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    for sig in sigs:
        loop.add_signal_handler(sig, stop)
    try:
        yield
    finally:
        for sig in sigs:
            loop.remove_signal_handler(sig)


class LoopErrors:
    """asyncio's exception handler: into the structured log (rotated, unlike stderr), and
    the same message at most once a minute, with how many were left out."""

    EVERY = 60.0

    def __init__(self, log: JsonLog) -> None:
        self.log = log
        self.seen: dict[str, tuple[float, int]] = {}

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = str(context.get("message") or "unhandled error in the event loop")
        now = time.monotonic()
        last, skipped = self.seen.get(message, (-self.EVERY, 0))
        if now - last < self.EVERY:
            self.seen[message] = (last, skipped + 1)
            return
        if len(self.seen) > 1000:
            self.seen.clear()
        self.seen[message] = (now, 0)
        exc = context.get("exception")
        self.log("error", message, left_out=skipped,
                 error="".join(traceback.format_exception(exc)) if exc else None)


class Daemon:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.pid = os.getpid()
        self.started_at = time.time()
        self.log = JsonLog(paths.daemon_log, "daemon")
        self.lock_fd = -1
        self.sock: socket.socket | None = None
        self.stopping: asyncio.Event | None = None
        self.upgrade = False

    # -- startup ---------------------------------------------------------------------------

    def claim(self, inherited: tuple[int, int] | None = None) -> None:
        """Take the pid-file lock and the socket (or inherit both across an upgrade)."""
        if inherited:
            self.lock_fd, sock_fd = inherited
            self.sock = socket.socket(fileno=sock_fd)
            return
        try:
            self.paths.ensure()
        except PermissionError as e:
            raise DaemonError(str(e) if not e.filename else f"cannot create {e.filename}: "
                              f"{e.strerror}; set AGENTD_DIR to a directory you own") from None
        if root_too_long(self.paths.root):
            raise DaemonError(too_long_message(self.paths.root))
        self.lock_fd = os.open(self.paths.pidfile, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(self.lock_fd, 32, 0).decode().strip() or "?"
            raise DaemonError(f"agentd is already running (pid {other}) for "
                              f"{self.paths.root}") from None
        self.sock = bind_private(self.paths.socket, 256)

    def write_pid(self) -> None:
        self.pid = os.getpid()
        os.ftruncate(self.lock_fd, 0)
        os.pwrite(self.lock_fd, f"{self.pid}\n".encode(), 0)

    def startup(self) -> None:
        os.umask(0o077)  # state.db, logs and specs are the user's alone
        self.write_pid()
        self.services = Services(self.paths, self.load_config, self.log)
        lost = self.services.sessions.reconcile()
        self.log("info", "agentd started", version=__version__, pid=self.pid,
                 root=str(self.paths.root), lost=lost)

    def load_config(self) -> config.Config:
        return config.load(self.paths.config)

    # -- main loop -------------------------------------------------------------------------

    async def main_loop(self) -> None:
        self.stopping = asyncio.Event()
        s = self.services
        control = Control(self.pid, self.started_at, self.request_stop)
        server = Server(Handlers(self.paths, s.store, s.tasks, s.sessions, s.hub,
                                 self.load_config, control, s.records, s.artifacts,
                                 s.merges), self.log)
        assert self.sock is not None
        asyncio.get_running_loop().set_exception_handler(LoopErrors(self.log))
        with captured_signals(self.request_stop):
            # asyncio closes the socket it serves on; hand it a duplicate so the original
            # stays open (and listening) for an in-place upgrade.
            srv = await server.serve(self.sock.dup())
            background = [
                asyncio.create_task(self.reconcile_forever()),
                asyncio.create_task(s.records.run_forever()),
                asyncio.create_task(notify.on_attention_forever(
                    s.store, s.hub, self.load_config, self.log))]
            s.sessions.watch_live()
            await s.sessions.settle_pending()  # ended while the daemon was down
            await self.stopping.wait()
            srv.close()
            await server.shutdown(SHUTDOWN_SECONDS, REQUESTS_SECONDS)
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)

    async def reconcile_forever(self) -> None:
        sessions = self.services.sessions
        while True:
            await asyncio.sleep(RECONCILE_SECONDS)
            try:
                sessions.reconcile()
                await sessions.settle_pending()
            except Exception:  # noqa: BLE001
                self.log("error", "reconcile failed", error=traceback.format_exc())

    def request_stop(self, upgrade: bool = False) -> None:
        """Stop serving (and, with `upgrade`, re-execute in place)."""
        self.upgrade = upgrade
        if self.stopping is not None:
            self.stopping.set()

    # -- shutdown --------------------------------------------------------------------------

    def shutdown(self) -> None:
        self.services.store.close()
        assert self.sock is not None
        if self.upgrade:
            self.log("info", "agentd upgrading in place", pid=self.pid)
            os.set_inheritable(self.lock_fd, True)
            os.set_inheritable(self.sock.fileno(), True)
            os.execv(sys.executable, [sys.executable, "-m", "agentd.daemon.main",
                                      "--inherit", f"{self.lock_fd},{self.sock.fileno()}"])
        self.log("info", "agentd stopped", pid=self.pid)
        try:
            os.unlink(self.paths.socket)
        except FileNotFoundError:
            pass
        self.sock.close()
        os.ftruncate(self.lock_fd, 0)
        os.close(self.lock_fd)


def serve(daemon: Daemon) -> int:
    try:
        asyncio.run(daemon.main_loop())
    finally:
        daemon.shutdown()
    return 0


def run(daemon: Daemon) -> int:
    daemon.startup()
    return serve(daemon)


def _started(status: str) -> int:
    if status == "ready":
        return 0
    print(status or "agentd exited during start-up; see logs/agentd.log", file=sys.stderr)
    return 1


def detach(daemon: Daemon) -> int:
    """Fork; the parent exits once the child is serving (or says why it is not)."""
    ready = daemonize(_started)
    if isinstance(ready, int):
        return ready
    try:
        daemon.startup()
    except Exception as e:  # noqa: BLE001 - reported to the parent
        ready.send(f"agentd could not start: {e}")
        return 1
    ready.send("ready")
    detach_stdio(daemon.paths.daemon_log)
    return serve(daemon)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="agentd", description="The agentd daemon. You rarely "
                                 "start it yourself: 'agent' starts it on demand.")
    ap.add_argument("--background", action="store_true", help="detach once serving")
    ap.add_argument("--inherit", help=argparse.SUPPRESS)
    ap.add_argument("--version", action="version", version=f"agentd {__version__}")
    args = ap.parse_args(argv)
    try:
        paths, _ = load_paths()
        daemon = Daemon(paths)
        inherited: Any = tuple(int(x) for x in args.inherit.split(",")) if args.inherit else None
        daemon.claim(inherited)
    except AgentdError as e:
        print(f"agentd: {e}", file=sys.stderr)
        return e.exit_code
    if args.background:
        return detach(daemon)
    return run(daemon)


if __name__ == "__main__":
    sys.exit(main())
