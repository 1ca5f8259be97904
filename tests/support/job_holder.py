"""A job runner in a process of its own, for the tests that kill or freeze it.

`python -m tests.support.job_holder URL FOLDER SECONDS`: runs `run_jobs_forever` with the lease of
the database at URL (SECONDS long) and one job, every 0.1 s, that appends the time to
FOLDER/<pid>.runs.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from clerk_portal.ops.jobs import Job, run_jobs_forever
from clerk_portal.ops.lease import lease_for


def runs_of(folder: Path, pid: int) -> list[float]:
    """The times at which that process ran its job."""
    path = folder / f"{pid}.runs"
    if not path.exists():
        return []
    return [float(line) for line in path.read_text().split()]


def _append(path: Path) -> None:
    with path.open("a") as file:
        file.write(f"{time.time()}\n")


def main() -> None:
    url, folder, seconds = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    marks = folder / f"{os.getpid()}.runs"

    async def mark() -> None:
        _append(marks)

    job = Job("mark", 0.1, mark)
    asyncio.run(run_jobs_forever([job], lease=lease_for(url, seconds=seconds)))


if __name__ == "__main__":
    main()
