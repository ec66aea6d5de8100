"""`lifecycle bench`: what a run costs, against a hand-written peer, at several sizes.

For each size (events in tracks, or `demo`: the demo dataset) it generates a dataset, then
measures in one run: generation; the full guarded build (`lifecycle run --full-refresh`)
on every received day but the last; the incremental guarded run after that last day is
appended; the peer (saas_lifecycle/bench_peer.py: the activity marts straight from the raw
Parquet in one DuckDB script), whose marts must equal the project's row for row; and the
floor, one query that reads every raw tracks file once. Every step runs in its own
process, so its peak resident memory is its own (`wait4`; the guarded run's quality
suites run in that process). The guarded runs' output lines are timed as they arrive,
which splits their time into process start, dbt builds, quality suites and publishing.
Ratios come from the same run, because the machines are shared and noisy.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from saas_lifecycle import settings
from saas_lifecycle.bench_peer import PEER_MARTS, compare_marts

# Generated tracks rows per user and day over a year (15,000 users x 365 days gave 10.1 M
# events), used to pick the number of users for a size; the report gives the real count.
EVENTS_PER_USER_DAY = 1.85
DEMO = "demo"
# `demo` stands for the dataset `lifecycle run` generates when given none (its defaults).
DEMO_SIZE = 0
DEMO_USERS, DEMO_DAYS = 2000, 180
DEFAULT_SIZES = (DEMO, "1M", "10M", "100M")
DEFAULT_DAYS = 365
SIZE_PATTERN = re.compile(r"(\d+(?:\.\d+)?)([kKmM]?)")
MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000}
# The guarded runs keep every gate, but small generated tables carry at least one bad row
# of each kind (11 billing rules in ~1,000 rows at 1M events), above the 1% default. The
# schedule of the whole-table data tests is off, so every incremental run measures a plain
# night (on its scheduled day a run tests whole tables, as a full build does).
DEFAULT_RUN_VARS = {"quarantine_max_share": 0.05, "full_data_tests_every_n_days": 0}
# Models listed per build in the report: the slowest first.
SLOWEST_MODELS = 8
# Targets of issue 12, checked on the largest size measured.
INCREMENTAL_SHARE_TARGET = 0.10
INCREMENTAL_GROWTH_TARGET = 1.5
DEMO_RERUN_TARGET_SECONDS = 25.0
FULL_OVER_PEER_TARGET = 2.0
PEAK_RSS_TARGET_BYTES = 6 * 2**30
DEFAULT_MEMORY_LIMIT = "4GB"  # profiles.yml's default; the peer and floor get the same

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
    """`1M`, `10m`, `250k`, `5000` -> events; `demo` -> DEMO_SIZE (the demo dataset)."""
    if text.strip().lower() == DEMO:
        return DEMO_SIZE
    match = SIZE_PATTERN.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a size like demo, 1M, 250k or 5000: {text!r}")
    return int(float(match.group(1)) * MULTIPLIERS[match.group(2).lower()])


def size_label(events: int) -> str:
    if events == DEMO_SIZE:
        return DEMO
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
    """One measured process: wall seconds, peak resident memory, output and when each
    output line arrived (seconds after the process started)."""

    seconds: float
    peak_rss_bytes: int
    output: str
    line_times: list[tuple[float, str]] = field(default_factory=list)
    # (seconds after the start, resident bytes of the process), sampled.
    rss_samples: list[tuple[float, int]] = field(default_factory=list)


RSS_SAMPLE_SECONDS = 0.5


def _sample_rss(pid: int, started: float, samples: list[tuple[float, int]]) -> None:
    """Append the process's resident memory every RSS_SAMPLE_SECONDS until it ends."""
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:  # ended (or no /proc: no samples, the peak still comes from wait4)
            return
        match = re.search(r"VmRSS:\s*(\d+) kB", text)
        if match is None:  # a zombie has no memory left
            return
        samples.append((time.perf_counter() - started, int(match.group(1)) * 1024))
        time.sleep(RSS_SAMPLE_SECONDS)


def measure(args: Sequence[str], env: dict[str, str], log: Path) -> Step:
    """Run a process to the end, timing its output lines and sampling its memory; fail
    with its output's tail."""
    started = time.perf_counter()
    line_times: list[tuple[float, str]] = []
    rss_samples: list[tuple[float, int]] = []
    with log.open("w") as out:
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=settings.REPO_ROOT,
            text=True,
            bufsize=1,
        )
        sampler = threading.Thread(
            target=_sample_rss, args=(process.pid, started, rss_samples), daemon=True
        )
        sampler.start()
        assert process.stdout is not None
        for line in process.stdout:
            line_times.append((time.perf_counter() - started, line.rstrip("\n")))
            out.write(line)
            out.flush()  # the log shows a long step's progress while it runs
        _, status, usage = os.wait4(process.pid, 0)
        sampler.join(timeout=2 * RSS_SAMPLE_SECONDS)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    output = "\n".join(line for _, line in line_times)
    if process.returncode != 0:
        tail = "\n".join(output.splitlines()[-15:])
        raise RuntimeError(f"{' '.join(args[:4])}... failed ({log}):\n{tail}")
    # ru_maxrss is in kibibytes on Linux; wait4 gives the largest of the process and the
    # children it waited for, so a step's figure is its biggest single process.
    return Step(seconds, usage.ru_maxrss * 1024, output, line_times, rss_samples)


# Output lines that end a phase of a guarded run, for the memory by phase.
PHASE_ENDS = (
    ("start and schema check", re.compile(r"^raw schema ok")),
    ("raw suite", re.compile(r"^raw validation: ")),
    ("dbt build (staging)", re.compile(r"^dbt build \(staging\) (?:finished|stopped)")),
    ("staging suite", re.compile(r"^staging validation: ")),
    ("dbt build (marts)", re.compile(r"^dbt build \(marts\) (?:finished|stopped)")),
    ("dbt build", re.compile(r"^dbt build (?:finished|stopped)")),
    ("marts suite", re.compile(r"^marts validation: ")),
    ("publish", re.compile(r"^published: ")),
)


def phase_peaks(step: Step) -> list[tuple[str, int]]:
    """Peak sampled resident memory of each phase of a guarded run, in order."""
    ends = []
    for at, line in step.line_times:
        for name, pattern in PHASE_ENDS:
            if pattern.match(line):
                ends.append((at, name))
                break
    ends.append((step.seconds, "after publishing"))
    peaks, begin = [], 0.0
    for end, name in ends:
        inside = [rss for at, rss in step.rss_samples if begin <= at <= end]
        if inside:
            peaks.append((name, max(inside)))
        begin = end
    return peaks


DBT_FINISHED = re.compile(r"^dbt .*? (?:finished|stopped) after ([\d.]+) s")
DBT_STARTED = re.compile(r"^dbt .*\.\.\.$")
SCHEMA_CHECKED = re.compile(r"^raw schema ok in ([\d.]+) s")
VALIDATION = re.compile(r"^\w+ validation: ")
PUBLISHED = re.compile(r"^published: ")


@dataclass
class StepSplit:
    """Where a guarded run's seconds went, from its timed output lines."""

    process_start: float = 0.0  # interpreter, imports, up to the raw schema check
    dbt: float = 0.0  # the dbt invocations, as the runner reports them
    suites: float = 0.0  # the Great Expectations layers (raw, staging, marts)
    prepare: float = 0.0  # from the raw suite to the first dbt build: the build state
    publish: float = 0.0  # the swap of the served warehouse
    after: float = 0.0  # after publishing: run history, Data Docs, summary, report
    other: float = 0.0  # the rest (schema check, gaps between the steps)

    @classmethod
    def of(cls, step: Step) -> StepSplit:
        split = cls()
        previous = 0.0
        published_at: float | None = None
        dbt_started = False
        for at, line in step.line_times:
            if match := SCHEMA_CHECKED.match(line):
                split.process_start = max(0.0, at - float(match.group(1)))
            elif match := DBT_FINISHED.match(line):
                split.dbt += float(match.group(1))
            elif DBT_STARTED.match(line) and not dbt_started:
                dbt_started = True
                split.prepare = at - previous
            elif VALIDATION.match(line):
                split.suites += at - previous
            elif PUBLISHED.match(line):
                split.publish += at - previous
                published_at = at
            if line.strip() and not line.startswith(" "):
                previous = at
        if published_at is not None:
            split.after = step.seconds - published_at
        accounted = split.process_start + split.dbt + split.suites + split.prepare
        split.other = max(0.0, step.seconds - accounted - split.publish - split.after)
        return split


def inactive_event_names() -> list[str]:
    """Event names the taxonomy seed marks as not activity (the floor skips them too)."""
    import csv

    with (settings.REPO_ROOT / "seeds" / "event_taxonomy.csv").open() as seed:
        return [row["event_name"] for row in csv.DictReader(seed) if row["is_active"] == "false"]


def model_timings(results_dir: Path) -> list[tuple[str, float]]:
    """Seconds per model of a run, from the run results the runner keeps per dbt step."""
    timings: dict[str, float] = {}
    for results in sorted(results_dir.glob("run_results.*.json")):
        for result in json.loads(results.read_text())["results"]:
            unique_id = result["unique_id"]
            if unique_id.startswith(("model.", "seed.")):
                name = unique_id.split(".", 2)[2]
                timings[name] = max(timings.get(name, 0.0), result["execution_time"])
    return sorted(timings.items(), key=lambda item: -item[1])


def test_seconds(results_dir: Path) -> float:
    """Seconds spent in data tests, summed over the run's dbt steps."""
    total = 0.0
    for results in results_dir.glob("run_results.*.json"):
        for result in json.loads(results.read_text())["results"]:
            if result["unique_id"].startswith("test."):
                total += result["execution_time"]
    return total


@dataclass
class SizeResult:
    size: int
    events: int
    users: int
    days: int
    generate: Step
    full: Step
    incremental: Step
    peer: Step
    floor: Step
    # Per peer mart: (project rows, rows only in the project, rows only in the peer).
    peer_differences: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    full_models: list[tuple[str, float]] = field(default_factory=list)
    incremental_models: list[tuple[str, float]] = field(default_factory=list)
    full_test_seconds: float = 0.0
    incremental_test_seconds: float = 0.0

    @property
    def label(self) -> str:
        return size_label(self.size)

    @property
    def events_per_second(self) -> float:
        return self.events / self.generate.seconds

    @property
    def incremental_over_full(self) -> float:
        return self.incremental.seconds / self.full.seconds

    @property
    def full_over_peer(self) -> float:
        return self.full.seconds / self.peer.seconds

    @property
    def peer_equal(self) -> bool:
        return bool(self.peer_differences) and all(
            rows > 0 and only_project == 0 and only_peer == 0
            for rows, only_project, only_peer in self.peer_differences.values()
        )

    @property
    def peak_rss_bytes(self) -> int:
        return max(s.peak_rss_bytes for s in (self.full, self.incremental))


def bench_size(
    size: int, days: int, work: Path, seed: int, user_vars: dict[str, Any] | None = None
) -> SizeResult:
    """Generate, build in full, build incrementally, run the peer and the floor at one size."""
    label = size_label(size)
    root = work / label
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    python = sys.executable
    env = {**os.environ}
    env.setdefault(settings.ENV_DUCKDB_TEMP_DIR, str(root / "spill"))
    if size == DEMO_SIZE:
        users, days, seed_args = DEMO_USERS, DEMO_DAYS, []  # the generator's own seed
    else:
        users = max(20, round(size / (EVENTS_PER_USER_DAY * days)))
        seed_args = ["--seed", str(seed)]
    raw_all = root / "raw_all"
    print(f"[{label}] generating {users:,} users x {days} days ...", flush=True)
    generate = measure(
        [python, "-m", "saas_lifecycle.cli", "generate", "--out", str(raw_all),
         "--users", str(users), "--days", str(days), *seed_args],
        env,
        root / "generate.log",
    )  # fmt: skip
    manifest = json.loads((raw_all / "_manifest.json").read_text())
    events = int(manifest["rows"]["tracks"])
    partitions = received_partitions(raw_all)
    raw = raw_view(raw_all, root / "raw", partitions[:-1])
    database = root / "warehouse" / "lifecycle.duckdb"
    run_vars = {**DEFAULT_RUN_VARS, **(user_vars or {})}
    run = [python, "-m", "saas_lifecycle.cli", "run", "--raw-dir", str(raw),
           "--database", str(database), "--vars", json.dumps(run_vars)]  # fmt: skip
    if size != DEMO_SIZE:  # the demo row times the main job as users run it, report included
        run.append("--no-report")

    # One dbt target dir for both runs, as a nightly job keeps its own: the second run
    # parses only what changed (a fresh dir costs a whole parse, ~15 s, every run).
    target = root / "target"

    def build(name: str, extra: list[str]) -> tuple[Step, Path]:
        step_env = {**env, "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(root / "logs")}
        print(f"[{label}] {name} build ...", flush=True)
        step = measure(run + extra, step_env, root / f"{name}.log")
        results = root / f"results_{name}"  # this run's per-step run results, kept apart
        results.mkdir()
        for kept in target.glob("run_results.*.json"):
            kept.rename(results / kept.name)
        return step, results

    full, full_target = build("full", ["--full-refresh"])
    raw_view(raw_all, raw, partitions[-1:])  # append the last received day
    incremental, incremental_target = build("incremental", [])
    memory_limit = os.environ.get("LIFECYCLE_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)
    print(f"[{label}] peer ...", flush=True)
    peer_database = root / "peer.duckdb"
    peer = measure(
        [python, "-m", "saas_lifecycle.bench_peer", str(raw), str(peer_database),
         json.dumps(run_vars), memory_limit, str(root / "spill")],
        env,
        root / "peer.log",
    )  # fmt: skip
    peer.seconds = float(peer.output.split()[-1])  # the SQL alone, not the interpreter
    peer_differences = compare_marts(database, peer_database)
    print(f"[{label}] floor query ...", flush=True)
    floor = measure(
        [python, "-c", FLOOR_SCRIPT, str(raw_all / "tracks"), ",".join(inactive_event_names()),
         memory_limit, str(root / "spill")],
        env,
        root / "floor.log",
    )  # fmt: skip
    floor.seconds = float(floor.output.split()[-1])
    return SizeResult(
        size=size,
        events=events,
        users=users,
        days=days,
        generate=generate,
        full=full,
        incremental=incremental,
        peer=peer,
        floor=floor,
        peer_differences=peer_differences,
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


MAIN_HEADER = (
    "| size | events | days | generate s | full s | incremental s | incremental % of full "
    "| peer s | full/peer | peer rows equal | floor s "
    "| peak RSS GiB (gen / full / incr / peer) |"
)
MAIN_ALIGN = "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|"
SPLIT_HEADER = (
    "| size | run | total s | process start s | dbt builds s | data tests s (summed) "
    "| quality suites s | prepare build s | publish s | after publish s | other s |"
)
SPLIT_ALIGN = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"


def main_row(r: SizeResult) -> str:
    equal = "yes" if r.peer_equal else "NO"
    return (
        f"| {r.label} | {r.events:,} | {r.days} | {r.generate.seconds:.1f} "
        f"| {r.full.seconds:.1f} | {r.incremental.seconds:.1f} "
        f"| {100 * r.incremental_over_full:.0f} % | {r.peer.seconds:.1f} "
        f"| {r.full_over_peer:.1f} | {equal} | {r.floor.seconds:.2f} "
        f"| {gib(r.generate.peak_rss_bytes)} / {gib(r.full.peak_rss_bytes)} / "
        f"{gib(r.incremental.peak_rss_bytes)} / {gib(r.peer.peak_rss_bytes)} |"
    )


def split_rows(r: SizeResult) -> list[str]:
    rows = []
    for name, step, tests in (
        ("full", r.full, r.full_test_seconds),
        ("incremental", r.incremental, r.incremental_test_seconds),
    ):
        s = StepSplit.of(step)
        rows.append(
            f"| {r.label} | {name} | {step.seconds:.1f} | {s.process_start:.1f} | {s.dbt:.1f} "
            f"| {tests:.1f} | {s.suites:.1f} | {s.prepare:.1f} | {s.publish:.1f} "
            f"| {s.after:.1f} | {s.other:.1f} |"
        )
    return rows


def verdict(met: bool) -> str:
    return "met" if met else "missed"


def target_rows(results: Sequence[SizeResult]) -> list[str]:
    """The issue-12 targets that these results can judge."""
    sized = [r for r in results if r.size != DEMO_SIZE]
    rows = []
    for r in results:
        if r.size == DEMO_SIZE:
            met = r.incremental.seconds <= DEMO_RERUN_TARGET_SECONDS
            rows.append(
                f"| demo rerun with one more day <= {DEMO_RERUN_TARGET_SECONDS:.0f} s "
                f"| {r.incremental.seconds:.1f} s | {verdict(met)} |"
            )
    if sized:
        large = sized[-1]
        rows.append(
            f"| incremental <= {100 * INCREMENTAL_SHARE_TARGET:.0f} % of full at {large.label} "
            f"| {100 * large.incremental_over_full:.0f} % | "
            f"{verdict(large.incremental_over_full <= INCREMENTAL_SHARE_TARGET)} |"
        )
        if len(sized) >= 2:  # noqa: PLR2004
            small = sized[-2]
            growth = large.incremental.seconds / small.incremental.seconds
            rows.append(
                f"| incremental at {large.label} <= {INCREMENTAL_GROWTH_TARGET} x at {small.label} "
                f"| {growth:.2f} x | {verdict(growth <= INCREMENTAL_GROWTH_TARGET)} |"
            )
        met = large.full_over_peer <= FULL_OVER_PEER_TARGET
        rows.append(
            f"| full <= {FULL_OVER_PEER_TARGET:.0f} x peer at {large.label} "
            f"| {large.full_over_peer:.1f} x | {verdict(met)} |"
        )
        peak = max(r.peak_rss_bytes for r in sized)
        rows.append(
            f"| peak RSS per run process <= {gib(PEAK_RSS_TARGET_BYTES)} GiB "
            f"| {gib(peak)} GiB | {verdict(peak <= PEAK_RSS_TARGET_BYTES)} |"
        )
    return rows


def render(results: Sequence[SizeResult], command: str) -> str:
    """The benchmark as Markdown: the tables, the targets, and where the time goes."""
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}` on: {machine()}.",
        "",
        "One run measures every column of a row, so the ratios hold even on a busy machine;",
        "absolute seconds do not. Full = the whole guarded `lifecycle run --full-refresh`",
        "(schema check, Great Expectations suites, dbt build with its data tests, publish) on",
        "every received day but the last; incremental = the same command after that last day",
        "is appended (the data tests of the incremental tables check the loaded batch);",
        f"peer = `saas_lifecycle/bench_peer.py`, the marts {', '.join(PEER_MARTS)}",
        "computed from the raw Parquet in one DuckDB script, compared with the project's",
        "(EXCEPT ALL both ways: `peer rows equal`); floor = one query that reads every raw",
        "tracks file once and counts active events per user and day. `demo` is the dataset",
        f"`lifecycle run` generates when given none ({DEMO_USERS:,} users x {DEMO_DAYS} days),",
        "its runs with the HTML report as users run it. Peak RSS is the largest single",
        "process of the step (the quality suites run inside the guarded run's process).",
        "",
        MAIN_HEADER,
        MAIN_ALIGN,
        *(main_row(r) for r in results),
        "",
        "## Where the time of a guarded run goes",
        "",
        "From the run's own output lines, timed as they arrive: process start (interpreter",
        "and imports), dbt builds (as the runner reports them; their data tests summed over",
        "dbt's threads in the next column, already inside them), the quality suites, the",
        "preparation of the build state (from the raw suite to the first dbt build), the",
        "publish, what follows it (run history, Data Docs, summary, the demo's report) and",
        "the rest (schema check, gaps between the steps).",
        "",
        SPLIT_HEADER,
        SPLIT_ALIGN,
        *(row for r in results for row in split_rows(r)),
        "",
        "## Targets (issue 12)",
        "",
        "| target | measured | |",
        "|---|---|---|",
        *target_rows(results),
    ]
    for r in [r for r in results if r.size != DEMO_SIZE][-1:]:
        lines += [
            "",
            f"## Memory by phase at {r.events:,} events",
            "",
            f"Resident memory of the guarded run's process, sampled every {RSS_SAMPLE_SECONDS} s;",
            "the peak of each phase (phases end at the run's output line of that name).",
            "",
            "| phase | full run peak GiB | incremental run peak GiB |",
            "|---|---:|---:|",
        ]
        incremental_peaks = dict(phase_peaks(r.incremental))
        for name, peak in phase_peaks(r.full):
            other = incremental_peaks.get(name)
            lines.append(f"| {name} | {gib(peak)} | {gib(other) if other is not None else '-'} |")
        lines += ["", f"## Slowest models at {r.events:,} events", ""]
        for name, step, models in (
            ("Full build", r.full, r.full_models),
            ("Incremental run", r.incremental, r.incremental_models),
        ):
            lines.append(f"{name} ({step.seconds:.1f} s):")
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
    """Run the benchmark for every size, print the tables and write them to `out`."""
    command = "lifecycle bench --sizes " + ",".join(size_label(s) for s in sizes)
    if days != DEFAULT_DAYS:
        command += f" --days {days}"
    results = []
    for size in sizes:
        results.append(bench_size(size, days, work, seed, user_vars))
        if not keep:
            shutil.rmtree(work / size_label(size), ignore_errors=True)
        if out is not None:  # after every size, so a long run stopped early keeps its rows
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(render(results, command))
    text = render(results, command)
    print(text)
    if out is not None:
        print(f"written to {out}")
    return results
