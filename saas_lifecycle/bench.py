"""`lifecycle bench`: how fast the project is against the floor, at several sizes.

For each size (events in tracks) it generates a dataset, then measures in one run:
generation; the full guarded build (`lifecycle run --full-refresh`) on every received day
but the last; the incremental guarded run after that last day is appended; and the floor,
one DuckDB query that reads every raw tracks file once and counts active events per user
and day. Every step runs in its own process, so its peak resident memory is its own
(`wait4`). Ratios come from the same run, because the machines are shared and noisy.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from saas_lifecycle import settings

# Generated tracks rows per user and day over a year (15,000 users x 365 days gave 10.1 M
# events), used to pick the number of users for a size; the report gives the real count.
EVENTS_PER_USER_DAY = 1.85
DEFAULT_SIZES = ("1M", "10M", "100M")
DEFAULT_DAYS = 365
SIZE_PATTERN = re.compile(r"(\d+(?:\.\d+)?)([kKmM]?)")
MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000}
# The guarded runs keep every gate, but small generated tables carry at least one bad row
# of each kind (11 billing rules in ~1,000 rows at 1M events), above the 1% default.
DEFAULT_RUN_VARS = {"quarantine_max_share": 0.05}
# Models listed per build in the report: the slowest first.
SLOWEST_MODELS = 8

FLOOR_SCRIPT = """
import sys, time, duckdb
tracks, inactive, memory_limit, temp_dir = sys.argv[1:5]
con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": temp_dir})
con.execute("set TimeZone = 'UTC'")
started = time.perf_counter()
groups = con.execute(
    "select count(*) from ("
    " select user_id, cast(occurred_at as date) as activity_date, count(*) as active_events"
    f" from read_parquet('{tracks}/**/*.parquet')"
    " where user_id is not null and not list_contains(string_split(?, ','), event_name)"
    " group by user_id, activity_date)",
    [inactive],
).fetchone()[0]
print(groups, time.perf_counter() - started)
"""


def parse_size(text: str) -> int:
    """`1M`, `10m`, `250k`, `5000` -> events."""
    match = SIZE_PATTERN.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a size like 1M, 250k or 5000: {text!r}")
    return int(float(match.group(1)) * MULTIPLIERS[match.group(2).lower()])


def size_label(events: int) -> str:
    if events >= 1_000_000 and events % 1_000_000 == 0:
        return f"{events // 1_000_000}M"
    if events >= 1_000 and events % 1_000 == 0:
        return f"{events // 1_000}k"
    return str(events)


# ---------------------------------------------------------------------------- raw data


def received_partitions(raw_dir: Path) -> list[Path]:
    """The tracks partitions (`received_date=YYYY-MM-DD`) in date order."""
    return sorted(p for p in (raw_dir / "tracks").iterdir() if p.name.startswith("received_date="))


def _link_tree(source: Path, destination: Path) -> None:
    """Hard-link every file of `source` under `destination` (copy across filesystems).

    Links, not symlinks: recursive globs (DuckDB's and pathlib's) do not descend into
    symlinked directories.
    """
    for path in source.rglob("*"):
        if path.is_file():
            link = destination / path.relative_to(source)
            if not link.exists():
                link.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, link)
                except OSError:
                    shutil.copy2(path, link)


def raw_view(raw_dir: Path, view_dir: Path, partitions: Sequence[Path]) -> Path:
    """A raw dir made of links: every table of `raw_dir`, tracks cut to `partitions`.

    It lets one generated dataset be loaded a received day at a time (incremental runs)
    without copying data. Calling it again with more partitions appends them.
    """
    for table in raw_dir.iterdir():
        if table.is_dir() and table.name != "tracks":
            _link_tree(table, view_dir / table.name)
    for partition in partitions:
        _link_tree(partition, view_dir / "tracks" / partition.name)
    return view_dir


# ---------------------------------------------------------------------------- measuring


@dataclass
class Step:
    """One measured process: wall seconds, peak resident memory, output."""

    seconds: float
    peak_rss_bytes: int
    output: str


def measure(args: Sequence[str], env: dict[str, str], log: Path) -> Step:
    """Run a process to the end; fail with its output's tail if it fails."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=settings.REPO_ROOT
        )
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    output = log.read_text()
    if process.returncode != 0:
        tail = "\n".join(output.splitlines()[-15:])
        raise RuntimeError(f"{' '.join(args[:4])}... failed ({log}):\n{tail}")
    # ru_maxrss is in kibibytes on Linux.
    return Step(seconds, usage.ru_maxrss * 1024, output)


def inactive_event_names() -> list[str]:
    """Event names the taxonomy seed marks as not activity (the floor skips them too)."""
    with (settings.REPO_ROOT / "seeds" / "event_taxonomy.csv").open() as seed:
        return [row["event_name"] for row in csv.DictReader(seed) if row["is_active"] == "false"]


def model_timings(target: Path) -> list[tuple[str, float]]:
    """Seconds per model of a run, from the run results the runner keeps per dbt step."""
    timings: dict[str, float] = {}
    for results in sorted(target.glob("run_results.*.json")):
        for result in json.loads(results.read_text())["results"]:
            unique_id = result["unique_id"]
            if unique_id.startswith(("model.", "seed.")):
                name = unique_id.split(".", 2)[2]
                timings[name] = max(timings.get(name, 0.0), result["execution_time"])
    return sorted(timings.items(), key=lambda item: -item[1])


def test_seconds(target: Path) -> float:
    """Seconds spent in data tests, summed over the run's dbt steps."""
    total = 0.0
    for results in target.glob("run_results.*.json"):
        for result in json.loads(results.read_text())["results"]:
            if result["unique_id"].startswith("test."):
                total += result["execution_time"]
    return total


@dataclass
class SizeResult:
    size: int
    events: int
    days: int
    generate: Step
    full: Step
    incremental: Step
    floor: Step
    full_models: list[tuple[str, float]] = field(default_factory=list)
    incremental_models: list[tuple[str, float]] = field(default_factory=list)
    full_test_seconds: float = 0.0
    incremental_test_seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.generate.seconds

    @property
    def full_over_floor(self) -> float:
        return self.full.seconds / self.floor.seconds

    @property
    def incremental_over_full(self) -> float:
        return self.incremental.seconds / self.full.seconds

    @property
    def peak_rss_bytes(self) -> int:
        return max(s.peak_rss_bytes for s in (self.generate, self.full, self.incremental))


def bench_size(
    size: int, days: int, work: Path, seed: int, user_vars: dict[str, Any] | None = None
) -> SizeResult:
    """Generate, build in full, build incrementally and run the floor at one size."""
    label = size_label(size)
    root = work / label
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    python = sys.executable
    env = {**os.environ}
    env.setdefault(settings.ENV_DUCKDB_TEMP_DIR, str(root / "spill"))
    users = max(20, round(size / (EVENTS_PER_USER_DAY * days)))
    raw_all = root / "raw_all"
    print(f"[{label}] generating {users:,} users x {days} days ...", flush=True)
    generate = measure(
        [python, "-m", "saas_lifecycle.cli", "generate", "--out", str(raw_all),
         "--users", str(users), "--days", str(days), "--seed", str(seed)],
        env,
        root / "generate.log",
    )  # fmt: skip
    manifest = json.loads((raw_all / "_manifest.json").read_text())
    events = int(manifest["rows"]["tracks"])
    partitions = received_partitions(raw_all)
    raw = raw_view(raw_all, root / "raw", partitions[:-1])
    database = root / "warehouse" / "lifecycle.duckdb"
    run = [python, "-m", "saas_lifecycle.cli", "run", "--raw-dir", str(raw),
           "--database", str(database), "--no-report"]  # fmt: skip
    run += ["--vars", json.dumps({**DEFAULT_RUN_VARS, **(user_vars or {})})]

    def build(name: str, extra: list[str]) -> tuple[Step, Path]:
        target = root / f"target_{name}"
        step_env = {**env, "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(root / "logs")}
        print(f"[{label}] {name} build ...", flush=True)
        return measure(run + extra, step_env, root / f"{name}.log"), target

    full, full_target = build("full", ["--full-refresh"])
    raw_view(raw_all, raw, partitions[-1:])  # append the last received day
    incremental, incremental_target = build("incremental", [])
    print(f"[{label}] floor query ...", flush=True)
    # The same limit as the build (profiles.yml's default).
    memory_limit = os.environ.get("LIFECYCLE_DUCKDB_MEMORY_LIMIT", "4GB")
    floor = measure(
        [python, "-c", FLOOR_SCRIPT, str(raw_all / "tracks"), ",".join(inactive_event_names()),
         memory_limit, str(root / "spill")],
        env,
        root / "floor.log",
    )  # fmt: skip
    floor.seconds = float(floor.output.split()[-1])  # the query alone, not the interpreter
    return SizeResult(
        size=size,
        events=events,
        days=days,
        generate=generate,
        full=full,
        incremental=incremental,
        floor=floor,
        full_models=model_timings(full_target),
        incremental_models=model_timings(incremental_target),
        full_test_seconds=test_seconds(full_target),
        incremental_test_seconds=test_seconds(incremental_target),
    )


# ---------------------------------------------------------------------------- reporting


def gib(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.2f}"


def machine() -> str:
    """One line about the machine the benchmark ran on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = names[0].strip() if names else cpu
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(re.search(r"MemTotal:\s*(\d+)", meminfo.read_text()).group(1))
        memory = f", {total_kib / 2**20:.0f} GiB RAM"
    import dbt.version
    import duckdb

    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.platform()}; Python "
        f"{platform.python_version()}, DuckDB {duckdb.__version__}, dbt-core "
        f"{dbt.version.__version__}"
    )


def render(results: Sequence[SizeResult], command: str) -> str:
    """The benchmark as Markdown: the table, the targets, and where the time goes."""
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}` on: {machine()}.",
        "",
        "One run measures every column of a row, so the ratios hold even on a busy machine;",
        "absolute seconds do not. Full = the whole guarded `lifecycle run --full-refresh`",
        "(schema check, Great Expectations suites, dbt build with every data test, publish) on",
        "every received day but the last; incremental = the same command after that last day",
        "is appended; floor = one DuckDB query that reads every raw tracks file once and",
        "counts active events per user and day. Peak RSS is the step's own process.",
        "",
        "| events | days | generate s | events/s | full s | incremental s | floor s "
        "| full/floor | incremental/full | peak RSS GiB (gen/full/incr/floor) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.events:,} | {r.days} | {r.generate.seconds:.1f} | {r.events_per_second:,.0f} "
            f"| {r.full.seconds:.1f} | {r.incremental.seconds:.1f} | {r.floor.seconds:.2f} "
            f"| {r.full_over_floor:.1f} | {r.incremental_over_full:.2f} "
            f"| {gib(r.generate.peak_rss_bytes)} / {gib(r.full.peak_rss_bytes)} / "
            f"{gib(r.incremental.peak_rss_bytes)} / {gib(r.floor.peak_rss_bytes)} |"
        )
    if len(results) >= 2:
        small, large = results[-2], results[-1]
        growth = (large.full.seconds / small.full.seconds) / (large.events / small.events)
        lines += [
            "",
            f"Growth from {small.events:,} to {large.events:,} events: full build time x"
            f"{large.full.seconds / small.full.seconds:.1f} for x{large.events / small.events:.1f}"
            f" events (time ratio over event ratio {growth:.2f}; at most 1 is linear or better).",
        ]
    for r in results[-1:]:
        lines += ["", f"## Where the time goes at {r.events:,} events", ""]
        for name, step, models, tests in (
            ("Full build", r.full, r.full_models, r.full_test_seconds),
            ("Incremental run", r.incremental, r.incremental_models, r.incremental_test_seconds),
        ):
            model_total = sum(seconds for _, seconds in models)
            lines.append(
                f"{name}: {step.seconds:.1f} s in all; dbt models {model_total:.1f} s, "
                f"data tests {tests:.1f} s (summed over dbt's threads), the rest is start-up, "
                "Great Expectations suites and publishing. Slowest models:"
            )
            lines.append("")
            lines += [f"- `{model}` {seconds:.1f} s" for model, seconds in models[:SLOWEST_MODELS]]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def bench(
    sizes: Sequence[int],
    days: int,
    work: Path,
    out: Path | None,
    seed: int,
    keep: bool,
    user_vars: dict[str, Any] | None = None,
) -> list[SizeResult]:
    """Run the benchmark for every size, print the table and write it to `out`."""
    command = "lifecycle bench --sizes " + ",".join(size_label(s) for s in sizes)
    if days != DEFAULT_DAYS:
        command += f" --days {days}"
    results = []
    for size in sizes:
        results.append(bench_size(size, days, work, seed, user_vars))
        if not keep:
            shutil.rmtree(work / size_label(size), ignore_errors=True)
    text = render(results, command)
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"written to {out}")
    return results
