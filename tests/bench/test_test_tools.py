"""scripts/test_tools.py installs each Debian package on its own: a package the index lacks
(abduco on some releases) does not keep the others (dtach) out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Stands in for apt-get: "install abduco" fails as on a Debian without it; any other package
# "installs" a program of that name into the same directory.
APT_GET = """#!/bin/sh
dir=$(dirname "$0")
echo "$@" >> "$dir/calls"
[ "$1" = update ] && exit 0
for pkg; do :; done
if [ "$pkg" = abduco ]; then echo "E: Unable to locate package abduco" >&2; exit 100; fi
printf '#!/bin/sh\\n' > "$dir/$pkg"; chmod +x "$dir/$pkg"
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="test_tools installs only as root")
def test_a_missing_package_does_not_keep_the_others_out(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text(APT_GET)
    (bin_dir / "apt-get").chmod(0o755)
    # Only the stand-in and a shell on PATH: tmux, vim, dtach and abduco are all missing.
    for tool in ("sh", "dirname", "chmod", "printf"):
        real = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True,
                              text=True).stdout.strip()
        if real.startswith("/"):
            (bin_dir / tool).symlink_to(real)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "test_tools.py"), "--bench"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    installs = [line.split()[-1] for line in (bin_dir / "calls").read_text().splitlines()
                if line.startswith("install")]
    assert sorted(installs) == ["abduco", "dtach", "tmux", "vim"]
    assert (bin_dir / "dtach").exists() and (bin_dir / "tmux").exists()
    assert "abduco unavailable (apt-get install abduco failed" in proc.stdout
    assert "dtach unavailable" not in proc.stdout
