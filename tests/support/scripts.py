"""Helpers for tests that run the real `tracker` console script in a subprocess."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def tracker_script() -> str:
    """The `tracker` console script installed beside the running Python."""
    script = Path(sys.executable).parent / "tracker"
    if script.exists():
        return str(script)
    found = shutil.which("tracker")
    assert found, "the tracker console script is not installed (pip install -e .)"
    return found


def tracker(url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run `tracker ARGS` against the database at `url`; return the finished process."""
    env = {
        **os.environ,
        "TRACKER_DATABASE_URL": url,
        # Keep the run away from the project's own instance folder.
        "TRACKER_SECRET_KEY": "migration-test",
        "TRACKER_UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    return subprocess.run([tracker_script(), *args], env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)
