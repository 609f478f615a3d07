"""Every message the TUI's parts send each other (posting's shape: one module). Floods
are coalesced by `can_replace`: a newer message of the same kind stands for the older."""

from __future__ import annotations

from textual.message import Message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from agentd.protocol.views import EventView, TaskView


class TasksLoaded(Message):
    """The daemon's task list, fresh."""

    def __init__(self, tasks: list[TaskView]) -> None:
        super().__init__()
        self.tasks = tasks

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, TasksLoaded)


class EventsArrived(Message):
    """New events from the daemon's stream (the follower sends them in batches)."""

    def __init__(self, events: list[EventView]) -> None:
        super().__init__()
        self.events = events


class StreamLost(Message):
    """The event stream ended (the daemon went away); the follower retries."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class TaskSelected(Message):
    """The task list's cursor moved to another task (None: no task)."""

    def __init__(self, name: str | None) -> None:
        super().__init__()
        self.name = name


class ScreenChanged(Message):
    """The previewed session's screen changed; the preview reads the latest state."""

    def __init__(self, generation: int) -> None:
        super().__init__()
        self.generation = generation

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ScreenChanged)
