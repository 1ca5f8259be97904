"""`make run` is the first command on a fresh clone: its steps work with the defaults."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.clone import fresh_clone


def test_migrate_creates_the_default_database_on_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "clerk_portal", "migrate"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (clone / "var" / "clerk_portal.db").is_file()
