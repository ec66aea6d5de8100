"""The guarded job behind `lifecycle run`: schema check, dbt seed and build, summary.

dbt builds the build state (publish.Warehouse.state) in place, in this process (dbtRunner,
one invocation per layer: dbt starts once per run); the served file and the Parquet marts
are written fresh by publish.publish. Every expected failure (a raw table that breaks the
contract, a dbt node that errors or a test that fails) ends in one line
`lifecycle run failed: <reason>` and exit code 1; so does a run that published some marts
but held others back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from saas_lifecycle import run_vars, settings, spark_target
from saas_lifecycle.publish import (
    BUILD_STATUS,
    PUBLISHED,
    LockedError,
    PublishError,
    Warehouse,
    exclusive,
    publish,
    read_build_settings,
    start_build,
)
from saas_lifecycle.quality import LayerValidation
from saas_lifecycle.quality.impact import held_back_marts, mart_names
from saas_lifecycle.schema_check import SchemaError, SchemaReport, check_raw_schema

# Statuses of dbt results that fail a run (models: error; tests: fail or error).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
# Node types whose passing results are counted but not listed one by one.
TEST_TYPES = frozenset({"test", "unit_test"})
# Lines of a failing node's message shown under its progress line (unit-test diffs are long).
MAX_MESSAGE_LINES = 20
# Node names listed in a failure line before "and N more".
MAX_NAMED_FAILURES = 5
UNIT_TEST_EXCLUSION = ("--exclude", "test_type:unit")


class RunError(Exception):
    """A step of the run failed; the message is the one-line reason."""


def say(line: str = "") -> None:
    """Print one progress line at once (dbt runs long steps)."""
    print(line, flush=True)


def plural(count: int, noun: str) -> str:
    """`1 row`, `2,000 rows`."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def one_line(text: str) -> str:
    """Collapse a multi-line message into one line."""
    return re.sub(r"\s+", " ", text).strip()


# ---------------------------------------------------------------------------- arguments


def parse_vars(text: str) -> dict[str, Any]:
    """Parse a `--vars` YAML mapping such as `{reporting_timezone: US/Pacific}`."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or one_line(str(exc))
        raise ValueError(f"not valid YAML ({problem}): {text!r}") from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"not a YAML mapping like '{{key: value}}': {text!r}")
    return value


def parse_date(text: str) -> date:
    """Parse a YYYY-MM-DD date."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:  # e.g. 2025-02-30
            pass
    raise ValueError(f"not a date in YYYY-MM-DD form: {text!r}")


def dbt_vars(
    user_vars: Mapping[str, Any] | None, as_of: date | None, report: SchemaReport
) -> dict[str, Any]:
    """Merge the dbt vars; later sources win: user vars, then --as-of, then the schema check."""
    merged: dict[str, Any] = dict(user_vars or {})
    if as_of is not None:
        merged["as_of_date"] = as_of.isoformat()
    merged["absent_raw_tables"] = list(report.absent_optional)
    return merged


# Vars that change the rows of the incremental tables (occurred_date, quarantine rules): a
# run whose values differ from the state's last published build rebuilds them from scratch.
INCREMENTAL_VARS = ("reporting_timezone", "max_clock_skew_hours", "incremental_lookback_days")


def incremental_settings(variables: Mapping[str, Any]) -> dict[str, str]:
    """The INCREMENTAL_VARS of a run: its --vars over the defaults in dbt_project.yml."""
    project = yaml.safe_load((settings.REPO_ROOT / "dbt_project.yml").read_text())
    values = {**project.get("vars", {}), **variables}
    return {name: str(values.get(name)) for name in INCREMENTAL_VARS}


def needs_full_refresh(state: Path, wanted: Mapping[str, str]) -> str | None:
    """Why the incremental models must be rebuilt from scratch, or None if they need not.

    The incremental tables of the state are trusted only when the state's last build was
    published whole: a run that failed, was killed or held marts back after dbt wrote to
    the state may have loaded a batch (or a version of it) that the next run's raw files no
    longer hold, and delete+insert would keep such rows. A full refresh of the four
    incremental models makes the next run right whatever the earlier one left.
    """
    recorded = read_build_settings(state)
    if recorded is None:
        return "first build" if not state.exists() else "the state records no build settings"
    return full_refresh_reason(recorded, wanted)


def full_refresh_reason(recorded: Mapping[str, str], wanted: Mapping[str, str]) -> str | None:
    """needs_full_refresh for the settings a state recorded (any engine)."""
    status = recorded.get(BUILD_STATUS, "")
    if status != PUBLISHED:
        return f"the state holds a build that was not published whole ({status or 'unknown'})"
    changed = [
        f"{name} {recorded.get(name)} -> {value}"
        for name, value in wanted.items()
        if recorded.get(name) != value
    ]
    return "changed " + ", ".join(changed) if changed else None


def refuse_schema_suffix(variables: Mapping[str, Any]) -> None:
    """run_vars.check_suffix for callers that skip the command line's checks (Dagster)."""
    try:
        run_vars.check_suffix(variables)
    except run_vars.VarError as exc:
        raise RunError(str(exc)) from None


def prepare_build(
    warehouse: Warehouse,
    variables: Mapping[str, Any],
    full_refresh: bool,
    announce: Callable[[str], None],
    run_id: str,
) -> tuple[dict[str, str], bool]:
    """Decide on a full refresh of the incremental models (asked for, or needed: see
    needs_full_refresh) and mark the state as building. Returns the settings to record with
    the build and whether it is a full refresh."""
    refuse_schema_suffix(variables)
    build_settings = incremental_settings(variables)
    if not full_refresh:
        reason = needs_full_refresh(warehouse.state, build_settings)
        if reason:
            announce(f"full refresh of the incremental models: {reason}")
            full_refresh = True
    start_build(warehouse, build_settings, run_id)
    return build_settings, full_refresh


def raw_batch_start(state: Path, variables: Mapping[str, Any], full_refresh: bool) -> date | None:
    """The first received date (UTC) the incremental event tables will reload, which the raw
    suite then scans alone; None when the run rebuilds them (asked for, or needed), and so
    reads the whole raw history. Same rule as the reload_from_received_date macro."""
    if full_refresh or needs_full_refresh(state, incremental_settings(variables)):
        return None
    import duckdb

    lookback = int(incremental_settings(variables)["incremental_lookback_days"])
    with duckdb.connect(str(state), read_only=True) as con:
        try:
            (latest,) = con.execute(
                "select max(received_date) from staging.stg_product__tracks"
                " where received_date > date '1970-01-01'"
            ).fetchone()
        except duckdb.CatalogException:
            return None
    return None if latest is None else latest - timedelta(days=lookback)


# ---------------------------------------------------------------------------- generation


def generate_raw(out_dir: Path, **options: Any) -> None:
    """Generate a synthetic raw dataset and print rows per table and throughput."""
    from saas_lifecycle.generate import generate  # numpy-heavy; import only when needed

    stats = generate(out_dir, **options)
    say(f"generated raw data in {stats.out_dir}")
    width = max(len(name) for name in stats.rows) if stats.rows else 0
    for name, count in stats.rows.items():
        say(f"  {name:<{width}}  {plural(count, 'row'):>17}")
    say(
        f"  {stats.events:,} events in {stats.seconds:.1f} s "
        f"({stats.events_per_second:,.0f} events/second)"
    )


def resolve_raw_dir(raw_dir: Path | None) -> Path:
    """--raw-dir, else $RAW_DATA_DIR, else data/raw (generated with demo data when empty)."""
    if raw_dir is not None:
        return raw_dir.resolve()
    from_env = os.environ.get(settings.ENV_RAW_DIR)
    if from_env:
        return Path(from_env).resolve()
    default = settings.DEFAULT_RAW_DIR
    if not (default / "tracks").is_dir():
        say(f"no raw data given and {default} has none: generating the demo dataset there")
        generate_raw(default)
    return default


def resolve_database(database: Path | None) -> Path:
    """--database, else $LIFECYCLE_DUCKDB_PATH, else warehouse/lifecycle.duckdb in the repo."""
    path = database or Path(os.environ.get(settings.ENV_DATABASE) or settings.DEFAULT_DATABASE)
    return path.resolve()


# ---------------------------------------------------------------------------- dbt


def node_label(resource_type: str, name: str, schema: str = "", alias: str = "") -> str:
    """`model marts.dim_users`, `seed reference.plans`, `test not_null_...`."""
    if resource_type in {"model", "seed", "snapshot"} and schema and alias:
        return f"{resource_type} {schema}.{alias}"
    return f"{resource_type} {name}"


class DbtProgress:
    """dbt event callback: one line per finished node with its status and seconds.

    Passing and skipped tests are only counted; failing or warning ones are listed with
    their message.
    """

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, msg: Any) -> None:
        """Receive every dbt event (dbt fires them from its worker threads)."""
        name = msg.info.name
        if name == "LogStartLine":
            self.total = max(self.total, msg.data.total)
        elif name == "NodeFinished":
            self._finished(msg.data.node_info, msg.data.run_result)

    def _finished(self, info: Any, result: Any) -> None:
        relation = info.node_relation
        label = node_label(info.resource_type, info.node_name, relation.schema, relation.alias)
        status = result.status or info.node_status
        with self._lock:
            self.done += 1
            self.counts[status] = self.counts.get(status, 0) + 1
            noteworthy = status in FAILED_STATUSES or status == "warn"
            if info.resource_type in TEST_TYPES and not noteworthy:
                return  # hundreds of tests: counted in the tally, listed only when not passing
            total = max(self.total, self.done)
            width = len(str(total))
            say(
                f"  [{self.done:>{width}}/{total}] {status:<7} {label} "
                f"({result.execution_time:.1f} s)"
            )
            if noteworthy and result.message:
                lines = result.message.strip().splitlines()
                for line in lines[:MAX_MESSAGE_LINES]:
                    say(f"      {line}")
                if len(lines) > MAX_MESSAGE_LINES:
                    say(f"      ... ({len(lines) - MAX_MESSAGE_LINES} more lines in dbt.log)")

    def tally(self) -> str:
        """`pass 12, error 1, skipped 3` style counts."""
        return ", ".join(f"{status} {n}" for status, n in sorted(self.counts.items()))


def failure_reason(step: str, result: Any) -> str:
    """Name the failing step and nodes of an unsuccessful dbtRunnerResult."""
    if result.exception is not None:
        return f"{step}: {one_line(str(result.exception)) or type(result.exception).__name__}"
    failed = [
        node_label(
            str(r.node.resource_type),
            r.node.name,
            getattr(r.node, "schema", ""),  # unit tests have neither schema nor alias
            getattr(r.node, "alias", ""),
        )
        for r in getattr(result.result, "results", None) or []
        if str(r.status) in FAILED_STATUSES
    ]
    if not failed:
        return f"{step}: dbt reported no success"
    named = ", ".join(failed[:MAX_NAMED_FAILURES])
    more = len(failed) - MAX_NAMED_FAILURES
    if more > 0:
        named += f" and {more} more"
    return f"{step}: {plural(len(failed), 'failure')}: {named}"


def release_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open after an invocation.

    Without this, this process cannot open the database file again (DuckDB refuses a second
    connection with other settings), and the summary needs to read it.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    try:
        env = DuckDBConnectionManager.env()
    except Exception:  # no environment was created (raised as a bare Exception by dbt-duckdb)
        return
    DuckDBConnectionManager.close_all_connections()
    env.close()


def keep_run_results(step: str) -> None:
    """Copy dbt's run_results.json to run_results.<step>.json: the next step overwrites it,
    and `lifecycle bench` reads the per-model timings of every step."""
    target = Path(os.environ.get("DBT_TARGET_PATH") or settings.REPO_ROOT / "target")
    results = target / "run_results.json"
    if results.exists():
        slug = re.sub(r"[^a-z0-9]+", "_", step.lower()).strip("_")
        shutil.copyfile(results, target / f"run_results.{slug}.json")


def run_dbt(
    command: str,
    variables: Mapping[str, Any],
    full_refresh: bool,
    extra_args: Sequence[str] = (),
    step: str | None = None,
    callbacks: Sequence[Callable[[Any], None]] = (),
) -> None:
    """Run one dbt command with quiet console output and a progress line per node;
    `callbacks` also receive every dbt event."""
    from dbt.cli.main import dbtRunner  # slow import; only when dbt really runs

    step = step or f"dbt {command}"
    root = str(settings.REPO_ROOT)
    args = [
        command,
        "--project-dir",
        root,
        "--profiles-dir",
        root,
        "--vars",
        json.dumps(dict(variables)),
        "--log-level",
        "none",  # console quiet; callbacks still receive every event; logs/dbt.log keeps all
        "--no-send-anonymous-usage-stats",
        "--no-use-colors",  # plain messages (unit-test diffs) in the progress lines
    ]
    if full_refresh:
        args.append("--full-refresh")
    args += extra_args
    progress = DbtProgress()
    say(f"{step} ...")
    started = time.perf_counter()
    try:
        result = dbtRunner(callbacks=[progress, *callbacks]).invoke(args)
    finally:
        release_duckdb()
    if isinstance(result.exception, KeyboardInterrupt):
        raise result.exception
    seconds = time.perf_counter() - started
    keep_run_results(step)
    tally = f" ({progress.tally()})" if progress.counts else ""
    say(f"{step} {'finished' if result.success else 'stopped'} after {seconds:.1f} s{tally}")
    if not result.success:
        raise RunError(failure_reason(step, result))


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def dbt_environ(raw_dir: Path, state: Path, target: str) -> dict[str, str]:
    """The environment profiles.yml and the dbt sources read: the guarded target builds
    `state` (never the served file)."""
    temp_dir = os.environ.get(settings.ENV_DUCKDB_TEMP_DIR) or str(state.parent / "tmp")
    return {
        settings.ENV_RAW_DIR: str(raw_dir),
        settings.ENV_STATE_DATABASE: str(state),
        settings.ENV_TARGET: target,
        settings.ENV_DUCKDB_TEMP_DIR: temp_dir,
    }


# ---------------------------------------------------------------------------- summary


def _relations(con: Any, schema: str) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables"
        " where table_schema = ? and table_catalog = current_database() order by table_name",
        [schema],
    ).fetchall()
    return [name for (name,) in rows]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _row_counts(con: Any, schema: str) -> list[tuple[str, int]]:
    return [
        (name, con.execute(f"select count(*) from {_quote(schema)}.{_quote(name)}").fetchone()[0])
        for name in _relations(con, schema)
    ]


def _print_counts(title: str, counts: Sequence[tuple[str, int]]) -> None:
    say(title)
    if not counts:
        say("  (none)")
        return
    width = max(len(name) for name, _ in counts)
    for name, rows in counts:
        say(f"  {name:<{width}}  {plural(rows, 'row'):>17}")


def _unknown_event_names(con: Any) -> list[tuple[str, int | None]]:
    """Rows of the unknown-event-names relation (whatever schema holds it), most events first."""
    name = settings.UNKNOWN_EVENTS_RELATION
    columns: dict[str, set[str]] = {}
    for schema, column in con.execute(
        "select table_schema, column_name from information_schema.columns"
        " where table_name = ? and table_catalog = current_database()",
        [name],
    ).fetchall():
        columns.setdefault(schema, set()).add(column)
    schema = next((s for s in settings.UNKNOWN_EVENTS_SCHEMAS if s in columns), None)
    if schema is None:
        return []
    events = "events" if "events" in columns[schema] else "null"
    return con.execute(
        f"select event_name, {events} from {_quote(schema)}.{_quote(name)}"
        f" order by {events} desc nulls last, event_name"
    ).fetchall()


def churn_model_warning(con: Any) -> str | None:
    """A warning naming both AUCs when the served churn model's backtest does not beat the
    rule-based baseline (METRICS.md: never published without one); None when it does, when
    either AUC is unknown (too few test examples), or when the mart is not served (Spark)."""
    import duckdb

    try:
        row = con.execute(
            f"select auc, baseline_auc from {settings.MARTS_SCHEMA}.churn_model_evaluation"
        ).fetchone()
    except duckdb.CatalogException:  # no such mart (a Spark build serves none)
        return None
    if row is None or row[0] is None or row[1] is None or row[0] > row[1]:
        return None
    auc, baseline = row
    return (
        f"WARNING: the churn model's backtest AUC {auc:.4f} does not beat the rule-based"
        f" baseline's AUC {baseline:.4f} (marts.churn_model_evaluation); treat"
        " churn_risk_scores with care"
    )


def print_summary(database: Path) -> None:
    """Where the marts are, rows per mart (served file) and quarantine table (build state),
    unknown event names (served monitoring)."""
    import duckdb

    if not database.exists():
        say(f"marts: no DuckDB file at {database} (non-DuckDB target?)")
        return
    with duckdb.connect(str(database), read_only=True) as con:
        marts = _row_counts(con, settings.MARTS_SCHEMA)
        unknown = _unknown_event_names(con)
        churn_warning = churn_model_warning(con)
    state = Warehouse(database).state
    quarantine: list[tuple[str, int]] = []
    if state.exists():
        with duckdb.connect(str(state), read_only=True) as con:
            quarantine = _row_counts(con, settings.QUARANTINE_SCHEMA)
    say()
    _print_counts(f"marts: {database}, schema {settings.MARTS_SCHEMA}", marts)
    say(f"marts as Parquet: {Warehouse(database).parquet / 'current'} (one folder per mart)")
    _print_counts(
        f"quarantine (rows that broke the raw contract), schema {settings.QUARANTINE_SCHEMA}",
        quarantine,
    )
    if unknown:
        say(
            f"WARNING: {len(unknown)} event name(s) are not in the event_taxonomy seed "
            "(counted as 'uncategorized'); add them to seeds/event_taxonomy.csv:"
        )
        for event_name, events in unknown:
            say(f"  {event_name}" + ("" if events is None else f"  ({events:,} events)"))
    if churn_warning:
        say(churn_warning)


# ---------------------------------------------------------------------------- the job

# The dbt build runs in two layers, each followed by its quality gate. The first takes the
# seeds, staging, quarantine and monitoring models with the tests on them alone (cautious);
# the second everything downstream, with every test that touches it (eager).
# The named selections of selectors.yml (unit tests excluded there: they pin metric logic
# with fixtures and the default vars, which a run's own vars would override, so they run in
# the test suite and in a plain `dbt build`).
STAGING_LAYER = ("--selector", "staging_only")
MARTS_LAYER = ("--selector", "marts_only")


# ---------------------------------------------------------------------------- held-back marts


def marts_of(manifest: Mapping[str, Any]) -> list[str]:
    """The names of the models of the manifest that build schema marts."""
    return sorted(mart_names(manifest).values())


def load_manifest() -> dict[str, Any]:
    """dbt's manifest.json of this run ($DBT_TARGET_PATH, else <repo>/target); {} if absent."""
    target = Path(os.environ.get("DBT_TARGET_PATH") or settings.REPO_ROOT / "target")
    if not target.is_absolute():
        target = settings.REPO_ROOT / target
    path = target / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def describe_held_back(held_back: Mapping[str, str]) -> str:
    """`a, b (gate x); c (gate y)`: the held-back marts grouped by gate."""
    by_gate: dict[str, list[str]] = {}
    for mart, gate in sorted(held_back.items()):
        by_gate.setdefault(gate, []).append(mart)
    return "; ".join(f"{', '.join(marts)} ({gate})" for gate, marts in by_gate.items())


def new_run_id() -> str:
    """Sortable and unique: UTC start time plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


class Gates:
    """The quality gates of one run: validates layers, holds back the marts blocking
    failures reach (stopping the run when that is every mart), and records every result
    (failed runs too) in the audit database and the Data Docs."""

    def __init__(
        self, warehouse: Warehouse, manifest: Callable[[], Mapping[str, Any]] | None = None
    ) -> None:
        from saas_lifecycle.quality import acknowledgements

        self.warehouse = warehouse
        # Where the dbt manifest (the lineage that says which marts a failure reaches) is
        # read from when a failure needs it: this run's dbt target, or the code location's.
        self.manifest = manifest or load_manifest
        self.run_id = new_run_id()
        self.started_at = datetime.now(UTC)
        self.validations: list[LayerValidation] = []
        self.raw_volumes: dict[str, int] = {}
        self.held_back: dict[str, str] = {}
        self.failures: list[str] = []
        try:  # the reviewed acknowledgements file (quality/acknowledgements.py)
            self.acknowledgements = acknowledgements.Ledger(acknowledgements.load())
        except acknowledgements.AcknowledgementError as exc:
            raise RunError(str(exc)) from None
        self.batch: date | None = None

    def check(self, validation: LayerValidation) -> None:
        """Keep the result; print the report; raise RunError when the blocking failures so
        far hold back every mart (or cannot be attributed: no dbt manifest yet).
        Acknowledged failures are warnings."""
        from saas_lifecycle.quality.acknowledgements import batch_date
        from saas_lifecycle.quality.validate import format_report

        if validation.layer == "raw":
            self.batch = batch_date(validation)
        self.acknowledgements.apply(validation, self.batch)
        self.validations.append(validation)
        failed = validation.blocking_failures
        say(
            f"{validation.layer} validation: {plural(len(validation.outcomes), 'expectation')},"
            f" {len(failed)} blocking failure(s), {len(validation.warnings)} warning(s)"
        )
        if failed or validation.warnings:
            say(format_report([validation]))
        if not failed:
            return
        names = ", ".join(o.expectation for o in failed[:MAX_NAMED_FAILURES])
        more = len(failed) - MAX_NAMED_FAILURES
        reason = (
            f"{validation.layer} validation: {len(failed)} blocking expectation(s) failed:"
            f" {names}{f' and {more} more' if more > 0 else ''}"
        )
        self.failures.append(reason)
        manifest = self.manifest()
        marts = set(marts_of(manifest))
        self.held_back = held_back_marts(self.validations, manifest)
        if not marts or marts <= set(self.held_back):
            raise RunError(reason)
        say(f"held back (keep their served version): {describe_held_back(self.held_back)}")

    @property
    def status(self) -> str:
        return "held_back" if self.held_back else "success"

    def held_back_reason(self) -> str:
        """Why a run that published ends as a failure: its gates and the held-back marts."""
        return (
            f"{'; '.join(self.failures)}; the other marts were published, held back:"
            f" {describe_held_back(self.held_back)}"
        )

    def record(self, status: str) -> None:
        """Append this run's results to the audit database and write its Data Docs."""
        try:
            self._record(status)
        except Exception as exc:  # a history failure must not hide the run's own outcome
            say(f"WARNING: could not record the validation results: {one_line(str(exc))}")

    def _record(self, status: str) -> None:
        from saas_lifecycle.quality.docs import build_data_docs
        from saas_lifecycle.quality.history import record_run

        for entry in self.acknowledgements.unmatched():
            say(f"WARNING: acknowledgement {entry.label()} matched no failure in this run")
        record_run(
            self.warehouse.audit,
            self.run_id,
            self.started_at,
            datetime.now(UTC),
            status,
            self.validations,
            self.raw_volumes,
            self.acknowledgements.matches(),
        )
        if self.validations:
            index = build_data_docs(self.validations, self.warehouse.data_docs, self.run_id)
            say(f"validation results: {self.warehouse.audit} (run {self.run_id})")
            say(f"data docs: {index}")


def publish_build(warehouse: Warehouse, gates: Gates, build_settings: Mapping[str, str]) -> None:
    """Serve the state's marts (keeping the held-back ones) and say what was served."""
    started = time.perf_counter()
    try:
        result = publish(warehouse, gates.run_id, gates.held_back, build_settings)
    except PublishError as exc:
        raise RunError(str(exc)) from None
    say(
        f"published: {result.database} and {result.parquet}/"
        f" ({plural(len(result.marts), 'mart')}, {time.perf_counter() - started:.1f} s)"
    )


def _guarded_build(
    raw: Path,
    warehouse: Warehouse,
    gates: Gates,
    as_of: date | None,
    user_vars: Mapping[str, Any] | None,
    target: str | None,
    full_refresh: bool,
) -> None:
    from saas_lifecycle.quality.history import previous_volumes
    from saas_lifecycle.quality.validate import validate_database, validate_raw

    started = time.perf_counter()
    report = check_raw_schema(raw)
    tables = ", ".join(f"{name} ({plural(n, 'file')})" for name, n in report.files.items())
    say(f"raw schema ok in {time.perf_counter() - started:.1f} s: {raw}: {tables}")
    for notice in report.notices:
        say(notice)
    variables = dbt_vars(user_vars, as_of, report)

    dbt_target = target or os.environ.get(settings.ENV_TARGET) or settings.DEFAULT_TARGET
    spark = spark_target.is_spark_target(dbt_target)
    # An incremental DuckDB run checks only the raw batch it loads; history comes from the audit.
    batch = None if spark else raw_batch_start(warehouse.state, variables, full_refresh)
    raw_validation, gates.raw_volumes = validate_raw(
        raw,
        list(report.files),
        previous_volumes(warehouse.audit),
        variables,
        received_since=batch,
        audit_db=warehouse.audit,
    )
    gates.check(raw_validation)

    if spark:  # no DuckDB state: tables in the metastore
        spark_target.guarded_build(raw, warehouse, gates, variables, dbt_target, full_refresh)
        return
    build_settings, full_refresh = prepare_build(
        warehouse, variables, full_refresh, say, gates.run_id
    )
    state = warehouse.state
    with patched_environ(dbt_environ(raw, state, dbt_target)):
        run_dbt("build", variables, full_refresh, STAGING_LAYER, step="dbt build (staging)")
        gates.check(validate_database(state, "staging", variables))
        run_dbt("build", variables, full_refresh, MARTS_LAYER, step="dbt build (marts)")
        gates.check(validate_database(state, "marts", variables))
    publish_build(warehouse, gates, build_settings)


def _run(
    raw_dir: Path | None,
    database: Path | None,
    as_of: date | None,
    user_vars: Mapping[str, Any] | None,
    target: str | None,
    full_refresh: bool,
    report: bool,
) -> None:
    raw = resolve_raw_dir(raw_dir)
    warehouse = Warehouse(resolve_database(database))
    try:
        with exclusive(warehouse):
            gates = Gates(warehouse)
            status = "failed"
            try:
                _guarded_build(raw, warehouse, gates, as_of, user_vars, target, full_refresh)
                status = gates.status
            except OSError:  # a full disk: free what the failed publish took, then record
                warehouse.publishing.unlink(missing_ok=True)
                raise
            finally:
                gates.record(status)
    except LockedError as exc:
        raise RunError(str(exc)) from None
    dbt_target = target or os.environ.get(settings.ENV_TARGET) or settings.DEFAULT_TARGET
    if spark_target.is_spark_target(dbt_target):
        spark_target.print_summary(dbt_target, warehouse)
    else:
        print_summary(warehouse.published)
        from saas_lifecycle.report.build import finish_run  # plotly: only once marts are served

        finish_run(warehouse.published, write_report=report)
    if gates.held_back:
        raise RunError(gates.held_back_reason())


def run(
    raw_dir: Path | None = None,
    database: Path | None = None,
    as_of: date | None = None,
    user_vars: Mapping[str, Any] | None = None,
    target: str | None = None,
    full_refresh: bool = False,
    report: bool = True,
) -> int:
    """Run the whole job; return the exit code (0 success, 1 failed or held marts back)."""
    try:
        _run(raw_dir, database, as_of, user_vars, target, full_refresh, report)
    except (SchemaError, RunError) as exc:
        print(f"lifecycle run failed: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
