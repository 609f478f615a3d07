"""Where agentd keeps its files (DESIGN §4): every runtime file name is spelled here.

The runtime root holds sockets, the pid file and config; durable data (state.db, logs,
worktrees, artifacts) lives under `data_dir` from config, which defaults to the root.

The client's start-up path imports this module, so it imports nothing heavier than `os`:
the string helpers at the top serve the client, `Paths` (pathlib, imported lazily) serves
the daemon, the workers and the hooks.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

CONFIG = "config.toml"
SOCKET = "agentd.sock"
PIDFILE = "agentd.pid"
START_LOCK = "agentd.lock"  # taken by clients racing to start the daemon
DB = "state.db"
DAEMON_LOG = "agentd.log"

# sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 107
# The longest socket under a root: sessions/<10 hex digits>.sock.
LONGEST_SOCKET = len("/sessions/0123456789.sock")


def runtime_root_str(env: dict[str, str] | os._Environ[str] | None = None) -> str:
    """AGENTD_DIR, else $XDG_RUNTIME_DIR/agentd, else $TMPDIR/agentd-<uid>, else
    /tmp/agentd-<uid>."""
    env = os.environ if env is None else env
    if env.get("AGENTD_DIR"):
        return os.path.abspath(os.path.expanduser(env["AGENTD_DIR"]))
    if env.get("XDG_RUNTIME_DIR"):
        return os.path.join(env["XDG_RUNTIME_DIR"], "agentd")
    uid = os.getuid()
    if env.get("TMPDIR"):
        return os.path.join(env["TMPDIR"], f"agentd-{uid}")
    return f"/tmp/agentd-{uid}"


def root_too_long(root: str | os.PathLike[str]) -> bool:
    return len(os.fsencode(root)) + LONGEST_SOCKET > MAX_SOCKET_PATH


def too_long_message(root: object) -> str:
    return (f"the runtime root {root} is too long for its Unix sockets (at most "
            f"{MAX_SOCKET_PATH - LONGEST_SOCKET} bytes); set AGENTD_DIR to a shorter directory")


def unsafe(path: str | os.PathLike[str], directory: bool = True) -> str | None:
    """Why agentd must not trust `path` (a directory it keeps its sockets, config or data
    in, or a file there), or None when it may: it must belong to this user and not be
    writable by anybody else, the way ssh treats ~/.ssh. A missing path is safe (agentd
    creates it, 0700)."""
    import stat

    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as e:
        return (f"cannot use {path}: {e.strerror}; set AGENTD_DIR to a directory you can "
                "create")
    uid = os.getuid()
    if st.st_uid != uid:
        return (f"{path} belongs to uid {st.st_uid}, not to you (uid {uid}): another user "
                "may have made it to catch your agents' sessions; remove it, or set "
                "AGENTD_DIR to a directory of your own")
    if directory and not stat.S_ISDIR(st.st_mode):
        return f"{path} is not a directory; remove it or set AGENTD_DIR elsewhere"
    if st.st_mode & 0o022:
        return (f"{path} is writable by others (mode {stat.S_IMODE(st.st_mode):04o}); "
                f"run 'chmod go-w {path}' or set AGENTD_DIR to a private directory")
    return None


def make_private_dir(path: str | os.PathLike[str]) -> None:
    """Create a directory (and missing parents) private to this user; an existing one is
    checked, never chmod'ed. Raises PermissionError naming the problem."""
    problem = unsafe(path)
    if problem:
        raise PermissionError(problem)
    try:
        os.makedirs(path, mode=0o700)
    except FileExistsError:
        return
    os.chmod(path, 0o700)  # whatever the umask


def runtime_root(env: dict[str, str] | None = None) -> Path:
    from pathlib import Path

    return Path(runtime_root_str(env))


class Paths:
    """The runtime root and the data directory, and every file agentd keeps in them."""

    __slots__ = ("root", "data")

    def __init__(self, root: Path, data: Path) -> None:
        self.root, self.data = root, data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Paths) and (self.root, self.data) == (other.root, other.data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Paths(root={self.root!r}, data={self.data!r})"

    @classmethod
    def resolve(cls, data_dir: str | None = None, root: Path | None = None) -> Paths:
        from pathlib import Path

        root = root or runtime_root()
        data = root / Path(data_dir).expanduser() if data_dir else root  # relative: to root
        return cls(root=root, data=data)

    @classmethod
    def load(cls, root: Path | None = None) -> Paths:
        """The paths as config.toml places them (data_dir)."""
        from agentd import config

        root = root or runtime_root()
        return cls.resolve(config.load(root / CONFIG).data_dir, root)

    # -- in the runtime root -----------------------------------------------------------

    @property
    def config(self) -> Path:
        return self.root / CONFIG

    @property
    def socket(self) -> Path:
        return self.root / SOCKET

    @property
    def pidfile(self) -> Path:
        return self.root / PIDFILE

    @property
    def start_lock(self) -> Path:
        return self.root / START_LOCK

    @property
    def sessions(self) -> Path:
        return self.root / "sessions"

    def session_socket(self, session_id: str) -> Path:
        return self.sessions / f"{session_id}.sock"

    def session_file(self, session_id: str, suffix: str) -> Path:
        """A per-session file of an agent integration (`<id>.<suffix>`), e.g. Claude Code's
        settings or a transcript reader's offsets."""
        return self.sessions / f"{session_id}.{suffix}"

    # -- in the data directory -----------------------------------------------------------

    @property
    def db(self) -> Path:
        return self.data / DB

    @property
    def logs(self) -> Path:
        return self.data / "logs"

    @property
    def daemon_log(self) -> Path:
        return self.logs / DAEMON_LOG

    @property
    def worktrees(self) -> Path:
        return self.data / "worktrees"

    @property
    def artifacts(self) -> Path:
        return self.data / "artifacts"

    def session_log(self, session_id: str) -> Path:
        return self.logs / f"{session_id}.log"

    def task_artifacts(self, task: str) -> Path:
        """`artifacts/<task>/`: the files agentd keeps for a task (captured and registered)."""
        return self.artifacts / task

    def setup_result(self, session_id: str) -> Path:
        """What a session's setup command did (written by `agentd.setup`)."""
        return self.sessions / f"{session_id}.setup.json"

    def ensure(self) -> None:
        """Create the directories private to this user (0700), after checking that those
        that exist, and the config file, are this user's and writable by nobody else."""
        for d in (self.root, self.data, self.sessions, self.logs, self.worktrees,
                  self.artifacts):
            make_private_dir(d)
        for f in (self.config, self.db):
            problem = unsafe(f, directory=False)
            if problem:
                raise PermissionError(problem)
