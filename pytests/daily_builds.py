"""Builds dbt models a received day at a time, the way a nightly job meets its data.

    python pytests/daily_builds.py SPEC_JSON

SPEC_JSON holds `raw_all` (a generated raw folder), `raw` (the folder dbt reads, the
RAW_DATA_DIR of the caller's environment), `batches` (how many of the last received days
are loaded one build at a time) and `dbt_args` (the dbt command, e.g. ["run", "--select",
...]). The first build gets every received day but the last `batches`; each later build
appends one day to `raw` (hard links) and runs the same dbt command, incrementally.

All builds run in this one process with dbt's Python API, so dbt and, on Spark, the local
Spark session (and its JVM) start once instead of once per build. Prints one line per build;
exits 1 at the first build that fails.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from saas_lifecycle.bench import raw_view, received_partitions


def build_daily(spec: dict[str, Any]) -> int:
    from dbt.cli.main import dbtRunner

    raw_all, raw, batches = Path(spec["raw_all"]), Path(spec["raw"]), int(spec["batches"])
    partitions = received_partitions(raw_all)
    if len(partitions) <= batches:
        print(f"only {len(partitions)} received days for {batches} daily batches")
        return 1
    shutil.rmtree(raw, ignore_errors=True)
    loads = [partitions[:-batches], *([partition] for partition in partitions[-batches:])]
    dbt = dbtRunner()
    for number, load in enumerate(loads, start=1):
        raw_view(raw_all, raw, load)
        started = time.monotonic()
        result = dbt.invoke([*spec["dbt_args"], "--quiet"])
        loaded = load[-1].name.split("=")[-1]
        seconds = time.monotonic() - started
        print(f"build {number}: received days up to {loaded}, {seconds:.1f} s", flush=True)
        if not result.success:
            print(f"build {number} failed: {result.exception or 'a node failed'}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(build_daily(json.loads(sys.argv[1])))
