"""Fixtures: a real daemon on a private AGENTD_DIR per test, real git repositories."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers import SCALE, Env, git

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


DEADLINE = settings().deadline  # hypothesis' limit per example is a timeout too
if SCALE != 1 and DEADLINE is not None:
    settings.register_profile("scaled", deadline=DEADLINE * SCALE)
    settings.load_profile("scaled")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """AGENTD_TEST_TIMEOUT_SCALE stretches pytest-timeout's limit too: the closest `timeout`
    marker or, without one, `--timeout` / PYTEST_TIMEOUT / the `timeout` of pyproject.toml."""
    if SCALE == 1 or not config.pluginmanager.hasplugin("timeout"):
        return
    default = (config.getoption("timeout") or os.environ.get("PYTEST_TIMEOUT")
               or config.getini("timeout"))
    for item in items:
        marker = item.get_closest_marker("timeout")
        args, kwargs = (list(marker.args), dict(marker.kwargs)) if marker else ([], {})
        base = kwargs.pop("timeout") if "timeout" in kwargs else args.pop(0) if args else default
        if base:  # 0 or none: no limit, and none to scale
            item.add_marker(pytest.mark.timeout(float(base) * SCALE, *args, **kwargs),
                            append=False)


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
