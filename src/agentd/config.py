"""`<root>/config.toml`: built-in defaults, parsing and validation (DESIGN §5).

Every problem is reported as one line naming the file, the key and its line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentd.agents import BUILTINS, MODULES, integration
from agentd.errors import ConfigError, UsageError
from agentd.keys import key_bytes

MAX_SECONDS = 3600  # also keeps out inf and nan (TOML has both): every comparison with nan fails
PROMPT_MODES = ("arg", "type", "none")
# The old key `hooks` is an alias of `integration`, with its old values.
HOOKS_ALIAS = {"claude": "claude", "codex": "codex", "none": "generic"}


@dataclass(frozen=True, slots=True)
class AgentSpec:
    name: str
    command: str
    args: tuple[str, ...] = ()
    prompt: str = "arg"  # arg: last argument · type: typed into the PTY · none
    env: dict[str, str] = field(default_factory=dict)
    waiting_patterns: tuple[str, ...] = ()
    busy_patterns: tuple[str, ...] = ()
    idle_seconds: float = 0.0
    integration: str = "generic"  # the module in agents/ that launches it and reads its hooks
    setup: str | None = None  # a shell command run in a new worktree before the agent starts


def builtin_agents() -> dict[str, dict[str, Any]]:
    """The built-in agents as config tables: each integration's own defaults (agents/)."""
    return {name: {**integration(name).defaults.to_config(), "integration": name}
            for name in BUILTINS}


_TOP_KEYS: dict[str, type | tuple[type, ...]] = {
    "default_agent": str,
    "data_dir": str,
    "detach_key": str,
    "log_max_bytes": int,
    "log_keep": int,
    "on_attention": str,
    "kill_grace_seconds": (int, float),
    "tui_bell": bool,
    "scrollback_lines": int,
    "artifact_max_bytes": int,
    "setup": dict,
    "agents": dict,
    "prices": dict,
}
PRICE_KEYS = ("input", "output", "cache_read", "cache_write")  # USD per million tokens
_AGENT_KEYS: dict[str, type | tuple[type, ...]] = {
    "command": str,
    "args": list,
    "prompt": str,
    "env": dict,
    "waiting_patterns": list,
    "busy_patterns": list,
    "idle_seconds": (int, float),
    "integration": str,
    "hooks": str,
    "setup": str,
}
_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "a table",
               (int, float): "a number", bool: "true or false"}
MAX_SCROLLBACK = 1_000_000


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    agents: dict[str, AgentSpec]
    default_agent: str = "claude"
    data_dir: str | None = None
    detach_key: str = "C-]"
    log_max_bytes: int = 64 * 1024 * 1024
    log_keep: int = 1
    on_attention: str | None = None
    kill_grace_seconds: float = 3.0
    tui_bell: bool = True
    scrollback_lines: int = 10_000
    artifact_max_bytes: int = 100 * 1024 * 1024
    setup: dict[str, str] = field(default_factory=dict)  # repo path -> shell command

    def setup_commands(self, repo: Path, agent: AgentSpec) -> list[str]:
        """The setup commands for a new worktree of `repo` run by `agent`: the repo's
        first, then the agent's."""
        commands = []
        for key, command in self.setup.items():
            if Path(key).expanduser().resolve() == repo.resolve():
                commands.append(command)
                break
        if agent.setup:
            commands.append(agent.setup)
        return commands
    # model -> USD per million tokens by kind (docs/usage.md); wins over genai-prices
    prices: dict[str, dict[str, float]] = field(default_factory=dict)

    def agent(self, name: str) -> AgentSpec:
        try:
            return self.agents[name]
        except KeyError:
            known = ", ".join(self.agents)
            raise ConfigError(f"unknown agent {name!r}; known agents: {known} "
                              f"(add [agents.{name}] to {self.path})") from None


def _dotted(text: str) -> list[str]:
    return [part.strip().strip('"').strip("'") for part in text.split(".")]


def _line_of(text: str, section: str, key: str) -> int | None:
    """Best-effort line of `key` in `[section]` ('' for the top level): the line that sets
    it (also as a dotted key or inside an inline table), else the section's header."""
    target = _dotted(f"{section}.{key}" if section else key)
    current: list[str] = []
    header_line = None
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", s)
        if m:
            current = _dotted(m.group(1))
            if current == target:
                return n
            if section and current == _dotted(section):
                header_line = n
            continue
        m = re.match(r"^([A-Za-z0-9_\-.\"' ]+?)\s*=", s)
        if m:
            path = current + _dotted(m.group(1))
            if path == target or target[: len(path)] == path:
                return n
    return header_line


def _fail(path: Path, text: str, section: str, key: str, what: str) -> ConfigError:
    line = _line_of(text, section, key)
    where = f"{path}:{line}" if line else str(path)
    dotted = f"{section}.{key}" if section else key
    return ConfigError(f"{where}: {dotted}: {what}")


def _check(path: Path, text: str, section: str, table: dict[str, Any],
           schema: dict[str, type | tuple[type, ...]]) -> None:
    for key, value in table.items():
        if key not in schema:
            known = ", ".join(schema)
            raise _fail(path, text, section, key, f"unknown key (known keys: {known})")
        want = schema[key]
        if (isinstance(value, bool) != (want is bool)) or not isinstance(value, want):
            raise _fail(path, text, section, key, f"must be {_TYPE_NAMES[want]}")


def _agent_spec(path: Path, text: str, name: str, raw: dict[str, Any]) -> AgentSpec:
    section = f"agents.{name}"

    def bad(key: str, what: str) -> ConfigError:
        return _fail(path, text, section, key, what)

    for key in ("args", "waiting_patterns", "busy_patterns"):
        if not all(isinstance(x, str) for x in raw.get(key, [])):
            raise bad(key, "must be a list of strings")
    for key in ("waiting_patterns", "busy_patterns"):
        for pattern in raw.get(key, []):
            try:
                re.compile(pattern)
            except re.error as e:
                raise bad(key, f"bad regular expression {pattern!r}: {e}") from None
    if not all(isinstance(v, str) for v in raw.get("env", {}).values()):
        raise bad("env", "values must be strings")
    if raw.get("prompt", "arg") not in PROMPT_MODES:
        raise bad("prompt", f"must be one of {', '.join(PROMPT_MODES)}")
    if raw.get("integration", "generic") not in MODULES:
        raise bad("integration", f"must be one of {', '.join(MODULES)}")
    if not raw.get("command"):
        raise bad("command", "is required and must not be empty")
    if not 0 <= raw.get("idle_seconds", 0) <= MAX_SECONDS:
        raise bad("idle_seconds", f"must be a number of seconds from 0 to {MAX_SECONDS}")
    if "setup" in raw and not raw["setup"].strip():
        raise bad("setup", "must not be empty (leave the key out for no setup)")
    return AgentSpec(
        name=name, command=raw["command"], args=tuple(raw.get("args", ())),
        prompt=raw.get("prompt", "arg"), env=dict(raw.get("env", {})),
        waiting_patterns=tuple(raw.get("waiting_patterns", ())),
        busy_patterns=tuple(raw.get("busy_patterns", ())),
        idle_seconds=float(raw.get("idle_seconds", 0)),
        integration=raw.get("integration", "generic"),
        setup=raw.get("setup"),
    )


def _unalias(path: Path, text: str, name: str, raw: dict[str, Any]) -> dict[str, Any]:
    """`hooks = "claude"|"codex"|"none"` (the old key) as `integration`."""
    if "hooks" not in raw:
        return raw
    section = f"agents.{name}"
    if "integration" in raw:
        raise _fail(path, text, section, "hooks",
                    "is the old name of integration: set only integration")
    if raw["hooks"] not in HOOKS_ALIAS:
        raise _fail(path, text, section, "hooks", f"must be one of {', '.join(HOOKS_ALIAS)}")
    rest = {k: v for k, v in raw.items() if k != "hooks"}
    return {**rest, "integration": HOOKS_ALIAS[raw["hooks"]]}


def _prices(path: Path, text: str, raw: dict[str, Any]) -> dict[str, dict[str, float]]:
    import math

    out: dict[str, dict[str, float]] = {}
    for model, rates in raw.items():
        section = f'prices."{model}"'
        if not isinstance(rates, dict):
            raise _fail(path, text, "prices", f'"{model}"',
                        'must be a table like [prices."MODEL"] with input and output')
        for key, value in rates.items():
            if key not in PRICE_KEYS:
                raise _fail(path, text, section, key,
                            f"unknown key (known keys: {', '.join(PRICE_KEYS)})")
            if isinstance(value, bool) or not isinstance(value, int | float) or \
                    not math.isfinite(value) or value < 0:
                raise _fail(path, text, section, key,
                            "must be a finite number ≥ 0 (USD per million tokens)")
        for key in ("input", "output"):
            if key not in rates:
                raise _fail(path, text, section, key,
                            "is required (USD per million tokens)")
        out[model] = {k: float(v) for k, v in rates.items()}
    return out


def load(path: Path) -> Config:
    """Read and validate config.toml; a missing file means all defaults."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    _check(path, text, "", data, _TOP_KEYS)

    merged = builtin_agents()
    order: list[str] = []
    for name, raw in data.get("agents", {}).items():
        if not isinstance(raw, dict):
            raise _fail(path, text, "agents", name, "must be a table like [agents.NAME]")
        _check(path, text, f"agents.{name}", raw, _AGENT_KEYS)
        raw = _unalias(path, text, name, raw)
        base = merged.get(name, {})
        merged[name] = {**base, **raw}
        order.append(name)
    order += [n for n in merged if n not in order]
    agents = {n: _agent_spec(path, text, n, merged[n]) for n in order}

    default = data.get("default_agent", "claude")
    if default not in agents:
        raise _fail(path, text, "", "default_agent", f"unknown agent {default!r}")
    if not 0 <= data.get("kill_grace_seconds", 0) <= MAX_SECONDS:
        raise _fail(path, text, "", "kill_grace_seconds",
                    f"must be a number of seconds from 0 to {MAX_SECONDS}")
    if "detach_key" in data:
        try:
            key_bytes(data["detach_key"])
        except UsageError as e:
            raise _fail(path, text, "", "detach_key", str(e)) from None
    if not 0 <= data.get("scrollback_lines", 0) <= MAX_SCROLLBACK:
        raise _fail(path, text, "", "scrollback_lines", f"must be from 0 to {MAX_SCROLLBACK}")
    setup = data.get("setup", {})
    for repo, command in setup.items():
        if not isinstance(command, str) or not command.strip():
            raise _fail(path, text, "setup", repo, "must be a shell command (a non-empty "
                        'string), e.g. "~/src/web" = "npm ci"')
        if not (repo.startswith("/") or repo.startswith("~")):
            raise _fail(path, text, "setup", repo, "must be the repository's absolute path "
                        "(or one starting with ~)")
    if "artifact_max_bytes" in data and not 1 <= data["artifact_max_bytes"] <= 1 << 40:
        raise _fail(path, text, "", "artifact_max_bytes", f"must be from 1 to {1 << 40}")
    for key, low, high in (("log_max_bytes", 4096, 1 << 40), ("log_keep", 1, 100)):
        if key in data and not low <= data[key] <= high:
            raise _fail(path, text, "", key, f"must be from {low} to {high}")
    return Config(
        path=path, agents=agents, default_agent=default, data_dir=data.get("data_dir"),
        detach_key=data.get("detach_key", "C-]"),
        log_max_bytes=data.get("log_max_bytes", 64 * 1024 * 1024),
        log_keep=data.get("log_keep", 1), on_attention=data.get("on_attention"),
        kill_grace_seconds=float(data.get("kill_grace_seconds", 3.0)),
        tui_bell=data.get("tui_bell", True),
        scrollback_lines=data.get("scrollback_lines", 10_000),
        artifact_max_bytes=data.get("artifact_max_bytes", 100 * 1024 * 1024),
        setup=dict(setup),
        prices=_prices(path, text, data.get("prices", {})),
    )
