"""`AgentApp`: the TUI's state and its conversations with the daemon. Every blocking call
of AgentdClient runs in a thread worker (`@work(thread=True)`) and reports back with a
message; the list is updated from `stream_events` (each event batch triggers one reload
of `list_sessions`: no polling loop, no git per refresh); the preview watches one task.
"""

from __future__ import annotations

import os
import socket
import time

from rich.text import Text
from textual import work
from textual.app import App, SuspendNotSupported
from textual.binding import Binding
from textual.worker import get_current_worker

from agentd.client.api import NotAvailable
from agentd.client.tui import views
from agentd.client.tui.messages import EventsArrived, StreamLost, TasksLoaded
from agentd.client.tui.screens.main import MainScreen
from agentd.errors import AgentdError
from agentd.plaintext import clean
from agentd.protocol.messages import Push
from agentd.protocol.views import EventView

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from textual.timer import Timer

    from agentd.client.api import AgentdClient
    from agentd.protocol.connection import Connection
    from agentd.protocol.views import TaskView

RELOAD_DELAY = 0.05  # events arriving together cost one list_sessions
PREVIEW_DELAY = 0.15  # selection held this long before the preview attaches
RETRY = 1.0  # between attempts to reach a daemon that went away


class AgentApp(App[int]):
    TITLE = "agent"
    BINDINGS = [Binding("ctrl+c", "quit", "quit", show=False, priority=True)]
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, api: AgentdClient, clock: Callable[[], float] = time.time,
                 follow: bool = True, preview: bool = True, tick: float = 1.0,
                 workspace: str | None = None) -> None:
        super().__init__()
        self.api, self.clock = api, clock
        self.follow, self.preview, self.tick_seconds = follow, preview, tick
        self.workspace = workspace or os.getcwd()
        self.tasks: dict[str, TaskView] = {}
        self.filter_text = ""
        self.status_filter = "all"
        self.offline = ""
        self.bell_on = True
        self.scrollback_lines = 10_000
        self.stream: Connection | None = None
        self.reload_timer: Timer | None = None
        self.preview_timer: Timer | None = None
        self.loaded = 0  # how many task lists arrived (tests and the bench wait on it)

    @property
    def main(self) -> MainScreen:
        return self.get_screen("main")  # type: ignore[return-value]

    def on_mount(self) -> None:
        try:
            settings = self.api.client_settings()
            self.bell_on = bool(settings.get("tui_bell", True))
            self.scrollback_lines = int(settings.get("scrollback_lines", 10_000))
        except AgentdError:
            pass  # an older daemon: the defaults
        self.install_screen(MainScreen(), "main")
        self.push_screen("main")
        if self.follow:
            self.follow_events()
        else:
            self.reload()
        if self.tick_seconds:
            self.set_interval(self.tick_seconds, self.tick)

    def tick(self) -> None:
        if self.is_screen_installed("main"):
            self.main.tick()

    def on_unmount(self) -> None:
        self.close_stream()

    def close_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            try:
                stream.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- the daemon --------------------------------------------------------------------------

    @work(thread=True, group="events")
    def follow_events(self) -> None:
        """Follow the event stream for as long as the app runs, reconnecting when the
        daemon goes away."""
        worker = get_current_worker()
        last: int | None = None
        while not worker.is_cancelled:
            try:
                conn = self.api.event_stream(since=last or 0, from_now=last is None)
            except (OSError, AgentdError) as e:
                self.post_message(StreamLost(str(e)))
                time.sleep(RETRY)
                continue
            self.stream = conn
            self.call_from_thread(self.reload)
            try:
                with conn:
                    while not worker.is_cancelled:
                        msg = conn.recv()
                        if isinstance(msg, Push) and msg.name == "event":
                            event = EventView.from_wire(msg.data)
                            last = event.id if last is None else max(last, event.id)
                            self.post_message(EventsArrived([event]))
            except (OSError, AgentdError) as e:
                if worker.is_cancelled or self.stream is None:
                    return
                self.post_message(StreamLost(str(e)))
                time.sleep(RETRY)
            if last is None:
                last = 0

    @work(thread=True, group="reload")
    def reload(self) -> None:
        self.reload_timer = None
        try:
            tasks = self.api.list_tasks()
        except AgentdError as e:
            self.post_message(StreamLost(str(e)))
            return
        self.post_message(TasksLoaded(tasks))

    def on_tasks_loaded(self, message: TasksLoaded) -> None:
        self.tasks = {t.name: t for t in message.tasks}
        self.offline = ""
        self.loaded += 1
        if self.is_screen_installed("main"):  # not while the app closes
            self.main.show()

    def on_events_arrived(self, message: EventsArrived) -> None:
        for e in message.events:
            if e.attention == "action" and e.task:
                self.notify(clean(f"{e.task}: {e.summary}")[:300], title="needs you",
                            severity="warning", timeout=10, markup=False)
                if self.bell_on:
                    self.bell()
        if self.reload_timer is None:
            self.reload_timer = self.set_timer(RELOAD_DELAY, self.reload)

    def on_stream_lost(self, message: StreamLost) -> None:
        self.offline = clean(message.reason)[:120] or "the daemon went away"
        if self.is_screen_installed("main"):
            self.main.show()

    # -- the selected task -------------------------------------------------------------------

    def select(self, name: str | None) -> None:
        """The cursor is on `name`: preview it once the cursor rests there."""
        if self.preview_timer is not None:
            self.preview_timer.stop()
        from agentd.client.tui.widgets.preview import Preview

        previews = self.main.query(Preview) if self.is_screen_installed("main") else None
        if not previews:
            return
        preview = previews.first()
        self.preview_timer = self.set_timer(PREVIEW_DELAY, lambda: preview.show_task(name))

    def attach(self, name: str) -> None:
        """Enter: the app steps aside, this terminal attaches; the detach key brings the
        app back as it was."""
        from agentd.client.attach import attach

        error: str | None = None
        try:
            with self.suspend():
                try:
                    attach(self.api, name, read_only=False, force=False)
                except (OSError, AgentdError) as e:
                    error = str(e)
        except SuspendNotSupported:
            error = "cannot attach from here: this terminal cannot be handed over"
        if error:
            self.notify(clean(error), severity="error", markup=False)
        self.refresh(layout=True)
        self.reload()

    def new_task(self) -> None:
        self._new_task()

    @work(thread=True, group="dialog")
    def _new_task(self) -> None:
        try:
            _, agents = self.api.list_agents()
        except NotAvailable:
            agents = []
        except AgentdError as e:
            self.call_from_thread(self.notify, clean(str(e)), severity="error", markup=False)
            return
        self.call_from_thread(self._open_new_task, agents)

    def _open_new_task(self, agents: list[str]) -> None:
        from agentd.client.tui.screens.new_task import NewTask

        def done(name: str | None) -> None:
            if name:
                self.notify(f"started {name}", markup=False)
                self.reload()

        self.push_screen(NewTask(self.api, agents, self.workspace,
                                 (self.size.width, self.size.height)), done)

    def send(self, name: str) -> None:
        from agentd.client.tui.screens.send_input import SendInput

        def done(text: str | None) -> None:
            if text is not None:
                self.notify(f"sent to {name}", markup=False)

        self.push_screen(SendInput(self.api, name), done)

    def kill(self, name: str, rm: bool) -> None:
        from agentd.client.tui.screens.confirm import Confirm

        what = "Kill and remove" if rm else "Kill"
        extra = " Its worktree, branch, logs and records are deleted." if rm else \
            " Its worktree, branch and logs are kept."
        def answered(yes: bool | None) -> None:
            if yes:
                self._kill(name, rm)

        self.push_screen(Confirm(f"{what} {name}?{extra}"), answered)

    @work(thread=True, group="kill")
    def _kill(self, name: str, rm: bool) -> None:
        try:
            self.api.kill(name, rm=rm)
        except AgentdError as e:
            self.call_from_thread(self.notify, clean(f"{name}: {e}"), severity="error",
                                  markup=False, timeout=10)
            return
        self.call_from_thread(self.notify, f"{'removed' if rm else 'killed'} {name}",
                              markup=False)

    def merge(self, name: str) -> None:
        from agentd.client.tui.screens.confirm import Confirm

        def answered(yes: bool | None) -> None:
            if yes:
                self._optional("merge", "merge_task", {"name": name})

        self.push_screen(Confirm(f"Merge {name} into its base branch?"), answered)

    def resume(self, name: str) -> None:
        self._optional("resume", "start_session", {
            "name": name, "resume": True, "env": dict(os.environ),
            "cols": self.size.width, "rows": self.size.height})

    @work(thread=True, group="optional")
    def _optional(self, what: str, request: str, params: dict[str, Any]) -> None:
        try:
            result = self.api.optional(request, params)
        except NotAvailable:
            self.call_from_thread(self.notify, f"{what}: not available yet (this agentd "
                                  f"does not answer {request})", severity="warning",
                                  markup=False)
            return
        except AgentdError as e:
            self.call_from_thread(self.notify, clean(f"{what}: {e}"), severity="error",
                                  markup=False, timeout=10)
            return
        summary = ", ".join(f"{k}: {v}" for k, v in (result or {}).items()
                            if isinstance(v, str | int | float))[:200]
        self.call_from_thread(self.notify, clean(f"{what}: done. {summary}"), markup=False)

    def open_view(self, which: str, name: str | None) -> None:
        from agentd.client.tui.screens.text_view import TextView

        api, name = self.api, name or ""
        loaders: dict[str, tuple[str, Callable[[], Text]]] = {
            "diff": (f"diff of {name} against its base", lambda: views.load_diff(api, name)),
            "events": (f"events of {name}", lambda: views.load_events(api, name)),
            "thread": (f"thread of {name}", lambda: views.load_thread(api, name)),
            "artifacts": (f"artifacts of {name}", lambda: views.load_artifacts(api, name)),
            "usage": ("usage: cost and tokens", lambda: views.load_usage(api)),
        }
        title, load = loaders[which]
        self.push_screen(TextView(title, load))
