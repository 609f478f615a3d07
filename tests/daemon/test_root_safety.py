"""The runtime root, the data directory and the config are trusted only when they are the
user's own and writable by nobody else: another local user who makes `/tmp/agentd-<uid>`
first must get nothing (no environment, no command run)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import AGENT, Env

NOBODY = 65534
needs_root = pytest.mark.skipif(os.getuid() != 0, reason="chown to another uid needs root")


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A shared temp dir (like /tmp) where the default root `agentd-<uid>` is made."""
    d = Path(tempfile.mkdtemp(prefix="agentd-sq-", dir="/tmp"))
    d.chmod(0o1777)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_default_root(env: Env, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`agent ARGS` with neither AGENTD_DIR nor XDG_RUNTIME_DIR: the root is $TMPDIR/agentd-uid."""
    variables = {k: v for k, v in env.env.items() if k not in ("AGENTD_DIR", "XDG_RUNTIME_DIR")}
    variables["TMPDIR"] = str(tmp)
    return subprocess.run([*AGENT, *args], env=variables, capture_output=True, text=True,
                          timeout=60)


@needs_root
def test_a_root_made_by_another_user_is_refused(env: Env, shared_tmp: Path) -> None:
    squat = shared_tmp / f"agentd-{os.getuid()}"
    squat.mkdir()
    squat.chmod(0o777)
    (squat / "config.toml").write_text('[agents.evil]\ncommand = "touch"\n')
    os.chown(squat, NOBODY, NOBODY)
    os.chown(squat / "config.toml", NOBODY, NOBODY)
    r = run_default_root(env, shared_tmp, "ls")
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert f"belongs to uid {NOBODY}, not to you" in lines[0]
    assert "AGENTD_DIR" in lines[0]
    assert sorted(p.name for p in squat.iterdir()) == ["config.toml"]  # nothing created
    assert stat.S_IMODE(squat.stat().st_mode) == 0o777  # and nothing chmod'ed


def test_a_root_writable_by_others_is_refused_not_chmoded(env: Env, shared_tmp: Path) -> None:
    loose = shared_tmp / f"agentd-{os.getuid()}"
    loose.mkdir()
    loose.chmod(0o777)
    r = run_default_root(env, shared_tmp, "ls")
    assert r.returncode != 0
    assert "is writable by others (mode 0777)" in r.stderr
    assert f"chmod go-w {loose}" in r.stderr
    assert stat.S_IMODE(loose.stat().st_mode) == 0o777
    assert list(loose.iterdir()) == []


def test_a_fresh_default_root_is_made_private(env: Env, shared_tmp: Path) -> None:
    r = run_default_root(env, shared_tmp, "ls")
    try:
        assert r.returncode == 0, r.stderr
        root = shared_tmp / f"agentd-{os.getuid()}"
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        assert stat.S_IMODE((root / "agentd.sock").stat().st_mode) == 0o600
    finally:
        run_default_root(env, shared_tmp, "daemon", "stop")


@needs_root
def test_a_config_planted_by_another_user_is_never_read(env: Env) -> None:
    config = env.root / "config.toml"
    os.chown(config, NOBODY, NOBODY)
    r = env.agent("ls")
    assert r.code != 0
    assert f"{config} belongs to uid {NOBODY}" in r.err


def test_data_dir_writable_by_others_is_refused(env: Env, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o775)
    env.write_config(f'data_dir = "{data}"\n')
    r = env.agent("ls")
    assert r.code != 0
    assert "is writable by others (mode 0775)" in r.err
    assert stat.S_IMODE(data.stat().st_mode) == 0o775


PEEK = """
import socket, struct, sys, json
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect:", e.errno); sys.exit(0)
body = json.dumps({"type": "request", "id": 1, "name": sys.argv[2], "params": {}}).encode()
data = b""
try:
    s.sendall(struct.pack(">BI", 1, len(body)) + body)
except OSError:  # closed on us already: not a byte of an answer either
    pass
try:
    while chunk := s.recv(65536):
        data += chunk
except OSError:
    pass
print("answer:", len(data))
"""


@needs_root
@pytest.mark.skipif(not (os.path.exists("/usr/bin/python3") and shutil.which("setpriv")),
                    reason="needs /usr/bin/python3 and setpriv to run as another uid")
@pytest.mark.parametrize("which", ["daemon", "worker"])
def test_another_uid_gets_no_answer_even_through_open_permissions(env: Env, repo: Path,
                                                                  which: str) -> None:
    """With the directory and socket modes opened up on purpose, SO_PEERCRED still turns
    another uid away: connected, then closed without a byte."""
    env.ok("run", "--agent", "sleeper", "--name", "mine", cwd=repo)
    sid = env.task("mine")["session"]
    sock = env.root / "agentd.sock" if which == "daemon" else (
        env.root / "sessions" / f"{sid}.sock")
    for d in (env.root.parent, env.root, env.root / "sessions"):
        d.chmod(0o755)
    sock.chmod(0o666)
    try:
        request = "hello" if which == "daemon" else "info"
        r = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                            "--clear-groups", "/usr/bin/python3", "-c", PEEK, str(sock), request],
                           capture_output=True, text=True, timeout=30)
        assert r.stdout.strip() == "answer: 0", r.stdout + r.stderr
        assert env.status("mine") == "running"
    finally:
        for d in (env.root, env.root / "sessions"):
            d.chmod(0o700)
