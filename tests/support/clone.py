"""A fresh clone of this checkout, as a new developer (or CI) gets it: no var/, no .web, no .env."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def fresh_clone(destination: Path) -> Path:
    """`git clone` of this checkout, with its uncommitted changes committed in the clone (so the
    tests check the working tree, and the clone's `git status` starts empty). The checkout's
    .venv and .tools are symlinked in, as the before-stop hook does, so nothing is reinstalled."""
    _git("clone", "--quiet", str(ROOT), str(destination), cwd=ROOT)
    listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source, target = ROOT / name, destination / name
        if not source.exists() and not source.is_symlink():  # deleted in the working tree
            target.unlink(missing_ok=True)
        elif source.is_file() and not source.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    _git("add", "--all", cwd=destination)
    _git(
        "-c",
        "user.name=tests",
        "-c",
        "user.email=tests@localhost",
        "commit",
        "--quiet",
        "--allow-empty",
        "--message",
        "the checkout's working tree",
        cwd=destination,
    )
    for tool in (".venv", ".tools"):
        if (ROOT / tool).exists():
            (destination / tool).symlink_to((ROOT / tool).resolve())
    return destination


def git_status(clone: Path) -> str:
    return _git("status", "--porcelain", cwd=clone)
