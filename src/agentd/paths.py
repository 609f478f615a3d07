"""Where agentd keeps its files (DESIGN §4).

The runtime root holds sockets, the pid file and config; durable data (state.db, logs,
worktrees, artifacts) lives under `data_dir` from config, which defaults to the root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from agentd.root import runtime_root_str


def runtime_root(env: dict[str, str] | None = None) -> Path:
    return Path(runtime_root_str(env))


@dataclass(frozen=True, slots=True)
class Paths:
    root: Path
    data: Path

    @classmethod
    def resolve(cls, data_dir: str | None = None, root: Path | None = None) -> Paths:
        root = root or runtime_root()
        data = root / Path(data_dir).expanduser() if data_dir else root  # relative: to root
        return cls(root=root, data=data)

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def socket(self) -> Path:
        return self.root / "agentd.sock"

    @property
    def pidfile(self) -> Path:
        return self.root / "agentd.pid"


    @property
    def sessions(self) -> Path:
        return self.root / "sessions"

    @property
    def db(self) -> Path:
        return self.data / "state.db"

    @property
    def logs(self) -> Path:
        return self.data / "logs"

    @property
    def daemon_log(self) -> Path:
        return self.logs / "agentd.log"

    @property
    def worktrees(self) -> Path:
        return self.data / "worktrees"

    @property
    def artifacts(self) -> Path:
        return self.data / "artifacts"

    def session_socket(self, session_id: str) -> Path:
        return self.sessions / f"{session_id}.sock"

    def session_spec(self, session_id: str) -> Path:
        return self.sessions / f"{session_id}.json"

    def session_log(self, session_id: str) -> Path:
        return self.logs / f"{session_id}.log"

    def ensure(self) -> None:
        """Create the directories, private to this user (0700)."""
        for d in {self.root, self.data, self.sessions, self.logs, self.worktrees, self.artifacts}:
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o700)
