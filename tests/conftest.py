"""Fixtures: a real daemon on a private AGENTD_DIR per test, real git repositories."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Env, git

QUICK_CONFIG = f"""
default_agent = "demo"

[agents.quick]
command = "{sys.executable}"
args = ["-m", "agentd.demo_agent", "--delay", "0", "--no-question"]

[agents.fail]
command = "sh"
args = ["-c", "echo failing; exit 3"]
prompt = "none"

[agents.sleeper]
command = "sleep"
args = ["600"]
prompt = "none"

[agents.true]
command = "true"
prompt = "none"
"""


@pytest.fixture
def env() -> Iterator[Env]:
    # Short paths: a Unix socket path must fit in 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="agentd-t-", dir="/tmp")) / "root"
    home = root.parent / "home"
    home.mkdir()
    variables = {k: v for k, v in os.environ.items() if not k.startswith("AGENTD_")}
    variables.update({
        "AGENTD_DIR": str(root), "HOME": str(home), "NO_COLOR": "1",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
    })
    e = Env(root=root, env=variables)
    root.mkdir(mode=0o700)
    e.write_config(QUICK_CONFIG)
    try:
        yield e
    finally:
        e.cleanup()
        shutil.rmtree(root.parent, ignore_errors=True)


@pytest.fixture
def repo(env: Env) -> Path:
    path = env.root.parent / "repo"
    path.mkdir()
    for args in (["init", "-q", "-b", "main"], ["config", "user.name", "t"],
                 ["config", "user.email", "t@example.invalid"]):
        git(*args, cwd=path)
    (path / "README.md").write_text("hello\n")
    git("add", ".", cwd=path)
    git("commit", "-q", "-m", "initial", cwd=path)
    return path
