"""Every request on every agentd socket, declared once: its parameters, their types, ranges
and defaults (docs/protocol.md §6 and §7 are the prose of these tables).

Both dispatchers (daemon and session worker) check a request against its declaration before
a handler runs, so a handler only ever sees well-typed, in-range values, and an exception
inside one is a bug, never the caller's mistake. A bad parameter is answered with a `usage`
failure that names the request, the parameter and what it must be.

A parameter sent as null, or left out, takes its default. Parameters a declaration does
not name are ignored: session workers outlive daemon
upgrades, so an older worker must accept a newer daemon's requests.
"""

from __future__ import annotations

import math

from agentd.errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_STR = 1 << 20  # the frame cap is 16 MiB; no single string parameter needs more than 1 MiB
MAX_LIST = 10_000


class Param:
    """One parameter: `kind` is str, int, num, bool, strs ([str]), env ({str: str}),
    words (str or [str]) or list (any JSON list, checked by its handler)."""

    __slots__ = ("kind", "required", "default", "lo", "hi", "choices")

    def __init__(self, kind: str, default: Any = None, *, required: bool = False,
                 lo: float | None = None, hi: float | None = None,
                 choices: tuple[str, ...] | None = None) -> None:
        self.kind, self.default, self.required = kind, default, required
        self.lo, self.hi, self.choices = lo, hi, choices

    def what(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        base = {"str": "a string", "int": "an integer", "num": "a finite number",
                "bool": "true or false", "strs": "a list of strings",
                "env": "an object of string values", "words": "a string or a list of strings",
                "list": "a list"}[self.kind]
        if self.lo is not None and self.hi is not None:
            base += f" from {self.lo:g} to {self.hi:g}"
        elif self.lo is not None:
            base += f" ≥ {self.lo:g}"
        return base

    def check(self, value: Any) -> Any:
        """The value if it fits, else raises ValueError."""
        k = self.kind
        if k == "str":
            ok = isinstance(value, str) and len(value) <= MAX_STR
        elif k in ("int", "num"):
            ok = (isinstance(value, int) if k == "int" else isinstance(value, int | float)) \
                and not isinstance(value, bool) and math.isfinite(value) \
                and (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)
        elif k == "bool":
            ok = isinstance(value, bool)
        elif k == "strs":
            ok = isinstance(value, list) and len(value) <= MAX_LIST and all(
                isinstance(x, str) and len(x) <= MAX_STR for x in value)
        elif k == "env":
            ok = isinstance(value, dict) and len(value) <= MAX_LIST and all(
                isinstance(v, str) and len(v) <= MAX_STR for v in value.values())
        elif k == "words":
            ok = (isinstance(value, str) and len(value) <= MAX_STR) or (
                isinstance(value, list) and len(value) <= MAX_LIST
                and all(isinstance(x, str) for x in value))
        else:  # list
            ok = isinstance(value, list)
        if ok and self.choices is not None:
            ok = value in self.choices
        if not ok:
            raise ValueError(self.what())
        return value


def _req(**params: Param) -> dict[str, Param]:
    return params


def _name() -> Param:
    return Param("str", required=True)



DAEMON: dict[str, dict[str, Param]] = {
    "hello": {},
    "daemon_info": {},
    "daemon_stop": {},
    "daemon_upgrade": {},
    "create_session": _req(
        workspace=Param("str", required=True), name=Param("str"), agent=Param("str"),
        prompt=Param("words", []), base=Param("str"), env=Param("env", {}),
        cols=Param("int", 120, lo=1, hi=1000), rows=Param("int", 40, lo=1, hi=1000)),
    "start_session": _req(
        name=_name(), agent=Param("str"), prompt=Param("words", []),
        resume=Param("bool", False), env=Param("env", {}),
        cols=Param("int", 120, lo=1, hi=1000), rows=Param("int", 40, lo=1, hi=1000)),
    "list_sessions": _req(all=Param("bool", False)),
    "show_task": _req(name=_name(), events=Param("int", 10, lo=0, hi=1000),
                     thread=Param("int", 10, lo=0, hi=1000)),
    "get_session": _req(name=_name()),
    "attach_session": _req(name=_name(), read_only=Param("bool", False)),
    "send_input": _req(name=_name(), text=Param("str", ""), keys=Param("strs", []),
                       enter=Param("bool", False)),
    "kill_session": _req(name=_name(), rm=Param("bool", False), force=Param("bool", False)),
    "session_diff": _req(name=_name(), stat=Param("bool", False), color=Param("bool", False)),
    "append_session_events": _req(session=Param("str", required=True),
                                  events=Param("list", required=True)),
    "stream_events": _req(
        task=Param("str"), since=Param("int", 0, lo=-(1 << 62), hi=1 << 62),
        from_now=Param("bool", False), follow=Param("bool", False),
        attention=Param("str", "info", choices=("info", "notice", "action"))),
    "ack": _req(name=_name()),
    "client_detached": _req(name=_name(), session=Param("str"), reason=Param("str")),
    "session_exited": _req(session=Param("str", required=True),
                           exit_code=Param("int", lo=-(1 << 31), hi=1 << 31),
                           reason=Param("str", "exited"), failed_to_start=Param("bool", False)),
    "read_log": _req(name=_name(), follow=Param("bool", False),
                     tail=Param("int", 0, lo=0, hi=1 << 53)),
    "list_agents": {},
    "client_settings": {},
    "usage_report": _req(name=Param("str"),
                         by=Param("str", choices=("task", "agent", "model", "day")),
                         since=Param("str")),
    "get_thread": _req(name=_name(), after=Param("int", 0, lo=0, hi=1 << 62),
                       follow=Param("bool", False)),
    "add_artifact": _req(
        name=_name(), paths=Param("strs", required=True),
        kind=Param("str", "file", choices=("file", "test-results", "screenshot", "report")),
        description=Param("str"), outside=Param("bool", False)),
    "list_artifacts": _req(name=_name()),
    "get_artifact": _req(name=_name(), id=Param("int", required=True, lo=1, hi=1 << 62)),
    "merge_task": _req(name=_name(), into=Param("str"), squash=Param("bool", False),
                       dry_run=Param("bool", False)),
    "apply_patch": _req(name=_name(), workspace=Param("str", required=True)),
}

WORKER: dict[str, dict[str, Param]] = {
    "info": {},
    "attach": _req(mode=Param("str", "interactive", choices=("interactive", "read-only")),
                   force=Param("bool", False), cols=Param("int", 0, lo=0, hi=1000),
                   rows=Param("int", 0, lo=0, hi=1000)),
    "resize": _req(cols=Param("int", required=True, lo=1, hi=1000),
                   rows=Param("int", required=True, lo=1, hi=1000)),
    "detach": _req(reason=Param("str", "detached")),
    "flush": {},
    "keys": _req(names=Param("strs", []), enter=Param("bool", False),
                 enter_delay=Param("num", 0.1, lo=0, hi=10)),
    "snapshot": {},
    "terminate": _req(grace=Param("num", 3.0, lo=0, hi=3600)),
}


def validate(table: dict[str, dict[str, Param]], name: str, params: Any) -> dict[str, Any]:
    """The request's parameters, checked, with defaults filled in. Raises UsageError naming
    the first bad parameter; KeyError for a request the table does not declare."""
    declared = table[name]
    if not isinstance(params, dict):
        raise UsageError(f"{name}: params must be an object")
    out: dict[str, Any] = {}
    for key, param in declared.items():
        value = params.get(key)
        if value is None:
            if param.required:
                raise UsageError(f"{name}: parameter '{key}' is required ({param.what()})")
            out[key] = param.default() if callable(param.default) else _copy(param.default)
            continue
        try:
            out[key] = param.check(value)
        except ValueError:
            raise UsageError(f"{name}: parameter '{key}' must be {param.what()}") from None
    return out


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else dict(value) if isinstance(
        value, dict) else value
