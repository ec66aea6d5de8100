"""Running one of the project's commands in a fresh process from the repository root.

The e2e tests run dbt and `lifecycle` in their own processes: one dbt invocation per
process keeps dbt's global state out of the test process, and each test passes its own
target, log and database paths in the environment.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence

from saas_lifecycle import settings

TIMEOUT_SECONDS = 900


def run_in_repo(
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> subprocess.CompletedProcess[str]:
    """Run `command` with `env` over this process's environment; never raises on failure."""
    return subprocess.run(
        list(command),
        cwd=settings.REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
