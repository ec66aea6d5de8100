"""Run configuration of the nightly job, and the state its steps share during one run.

`LifecycleRun` is configured per run (Dagster launchpad or run config) with the same
options as `lifecycle run`; unset options fall back to the same environment variables
(RAW_DATA_DIR, LIFECYCLE_DUCKDB_PATH) and defaults. For the whole run it holds the
warehouse's exclusive lock (a `lifecycle run` on the same database fails at once meanwhile,
and the other way round), marks the build state as building, keeps the schema report and every
Great Expectations validation, and on teardown appends them to the audit database and the
Data Docs, as the command line does. This needs every step in one process: the job runs
with Dagster's in-process executor (definitions.py), which DuckDB wants anyway (one writer
per file).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, Failure, InitResourceContext
from pydantic import Field, PrivateAttr

from saas_lifecycle import settings
from saas_lifecycle.orchestration.project import PUBLISHED_KEY, artifacts_dir
from saas_lifecycle.publish import LockedError, PublishResult, Warehouse, exclusive, publish
from saas_lifecycle.quality import LayerValidation
from saas_lifecycle.runner import (
    Gates,
    RunError,
    dbt_environ,
    dbt_vars,
    parse_date,
    parse_vars,
    prepare_build,
    resolve_database,
    resolve_raw_dir,
)
from saas_lifecycle.schema_check import SchemaError, SchemaReport, check_raw_schema


@dataclass
class RunState:
    """What the steps of one run share."""

    raw_dir: Path
    warehouse: Warehouse
    gates: Gates
    as_of: date | None
    user_vars: dict[str, Any]
    full_refresh: bool
    build_settings: dict[str, str]
    # False when the run's asset selection leaves out the publish asset.
    publishes: bool = True
    report: SchemaReport | None = None
    published: bool = False
    variables: dict[str, Any] = field(default_factory=dict)

    # Why the run stops (its blocking failures reach every mart), once a gate said so.
    stopped: str | None = None

    @property
    def status(self) -> str:
        """The run's status in the audit database (only `success` is a volume baseline):
        `held_back` when it published but kept some marts at their served version."""
        if self.published:
            return self.gates.status
        return "failed" if self.publishes else "unpublished"


class LifecycleRun(ConfigurableResource):
    """Where the nightly job reads raw data and publishes the marts, and as of which date."""

    raw_dir: str | None = Field(
        default=None,
        description="Raw data directory (Parquet folders); default $RAW_DATA_DIR, else"
        " data/raw (the demo dataset is generated there when it is empty).",
    )
    database: str | None = Field(
        default=None,
        description="Served DuckDB file; default $LIFECYCLE_DUCKDB_PATH, else"
        " warehouse/lifecycle.duckdb. The run builds its state beside it in"
        " <name>.state.duckdb and serves the marts as Parquet in <name>_marts/ too.",
    )
    as_of_date: str | None = Field(
        default=None,
        description="YYYY-MM-DD: compute the marts as of the end of this date; default the"
        " latest date with an active event.",
    )
    dbt_vars: str | None = Field(
        default=None,
        description="dbt vars as a YAML mapping, like `lifecycle run --vars`, e.g."
        " '{reporting_timezone: US/Pacific}'.",
    )

    full_refresh: bool = Field(
        default=False,
        description="Rebuild the incremental models from scratch, like `lifecycle run"
        " --full-refresh` (done anyway on a first build or when a var they depend on changed).",
    )

    _state: RunState | None = PrivateAttr(default=None)

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[LifecycleRun]:
        # Bad options fail the run before anything is read or locked.
        as_of = parse_date(self.as_of_date) if self.as_of_date else None
        user_vars = parse_vars(self.dbt_vars) if self.dbt_vars else {}
        warehouse = Warehouse(resolve_database(Path(self.database) if self.database else None))
        raw_dir = resolve_raw_dir(Path(self.raw_dir) if self.raw_dir else None)
        try:
            with exclusive(warehouse):
                gates = Gates(warehouse, manifest=_code_location_manifest)
                selection = context.run.asset_selection if context.run else None
                if context.run is not None:  # audit rows and Data Docs name the Dagster run
                    gates.run_id = context.run.run_id
                # As `lifecycle run`: the build state is built in place (incremental models
                # add the new batch) unless they must be rebuilt.
                build_settings, full_refresh = prepare_build(
                    warehouse, user_vars, self.full_refresh, context.log.info, gates.run_id
                )
                state = RunState(
                    raw_dir,
                    warehouse,
                    gates,
                    as_of,
                    user_vars,
                    full_refresh,
                    build_settings,
                    # No selection (None, or empty in-process): the whole job.
                    publishes=not selection or PUBLISHED_KEY in selection,
                )
                self._state = state
                try:
                    yield self
                finally:
                    gates.record(state.status)
                    self._state = None
        except LockedError as exc:
            raise Failure(str(exc)) from None

    @property
    def state(self) -> RunState:
        if self._state is None:
            raise RuntimeError("LifecycleRun is only usable while a Dagster run executes")
        return self._state

    @property
    def warehouse(self) -> Warehouse:
        return self.state.warehouse

    def schema_report(self) -> SchemaReport:
        """The raw schema check, once per run; a raw table breaking the contract stops it."""
        state = self.state
        if state.report is None:
            try:
                state.report = check_raw_schema(state.raw_dir)
            except SchemaError as exc:
                raise Failure(f"raw schema check: {exc}", allow_retries=False) from None
            state.variables = dbt_vars(state.user_vars, state.as_of, state.report)
        return state.report

    def variables(self) -> dict[str, Any]:
        """The dbt vars of this run (user vars, as-of date, absent optional tables)."""
        self.schema_report()
        return dict(self.state.variables)

    def build_database(self) -> Path:
        """The build state this run builds in place, validates and publishes from.

        It also holds what a run that selects only some assets (say, the marts) does not
        rebuild.
        """
        return self.state.warehouse.state

    def dbt_flags(self) -> list[str]:
        """`--full-refresh` when the incremental models are rebuilt from scratch."""
        return ["--full-refresh"] if self.state.full_refresh else []

    def dbt_environ(self) -> dict[str, str]:
        """The environment profiles.yml and the sources read, pointing at the build database.

        Always the DuckDB target: the publish reads its state file.
        """
        return dbt_environ(self.state.raw_dir, self.build_database(), settings.DEFAULT_TARGET)

    def gate(self, validation: LayerValidation, raw_volumes: dict[str, int] | None = None) -> bool:
        """Judge a layer's validation as `lifecycle run` does (runner.Gates: acknowledgements
        applied, the marts its blocking failures reach held back) and keep it, with the raw
        volumes, for the audit database. True when the run must stop: the failures reach
        every mart. Otherwise the held-back marts keep their served version at publish."""
        state = self.state
        if raw_volumes is not None:
            state.gates.raw_volumes = dict(raw_volumes)
        try:
            state.gates.check(validation)
        except RunError as exc:
            state.stopped = str(exc)
        return state.stopped is not None

    def publish(self) -> PublishResult:
        """Serve the state's marts: a fresh served file and Parquet set, each switched in
        with one atomic rename (saas_lifecycle/publish.py)."""
        state = self.state
        # The next run compares its vars with these to decide on a full refresh.
        result = publish(
            state.warehouse, state.gates.run_id, state.gates.held_back, state.build_settings
        )
        state.published = True
        return result

    def raise_if_stopped(self) -> None:
        """Fail the step when a gate stopped the run. A blocking check stops only the assets
        downstream of the asset it is on, so every later step asks too: a stopped run
        builds and publishes nothing more, whichever asset its failing check is on."""
        if self.state.stopped:
            raise Failure(self.state.stopped, allow_retries=False)

    def held_back_reason(self) -> str:
        """Why this run, which published, fails: its gates and the held-back marts."""
        return self.state.gates.held_back_reason()


def _code_location_manifest() -> dict[str, Any]:
    """The code location's dbt manifest (project.py parsed it when the definitions loaded)."""
    return json.loads((artifacts_dir() / "manifest.json").read_text())
