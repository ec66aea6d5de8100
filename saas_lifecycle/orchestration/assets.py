"""The assets and asset checks of the nightly job, in the order the guarded run runs them.

raw tables (schema check, raw suite) -> dbt seeds, staging, quarantine, monitoring (with
their dbt tests) -> staging suite -> dbt intermediate, marts, semantic (with their dbt
tests) -> marts suite -> publish. A dbt test of `error` severity stops what is downstream,
and so does a suite's blocking failure that reaches every mart: a build that stopped is
never published. A blocking failure that reaches only some marts holds those back at their
served version (not materialized as `served/<mart>`), publishes the others and fails the
run, as `lifecycle run` does.

No `from __future__ import annotations` here: Dagster checks the type of each asset
function's `context` annotation, which must be a class, not a string.
"""

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetChecksDefinition,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Backoff,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
    multi_asset_check,
)
from dagster_dbt import DbtCliInvocation, DbtCliResource, DbtProject, dbt_assets

from saas_lifecycle import settings
from saas_lifecycle.contract import RAW_TABLES
from saas_lifecycle.orchestration.checks import (
    check_results,
    check_specs,
    raw_expectation_asset,
)
from saas_lifecycle.orchestration.project import (
    PUBLISHED_KEY,
    RAW_GROUP,
    SERVED_GROUP,
    LifecycleTranslator,
    raw_table_key,
)
from saas_lifecycle.orchestration.resources import LifecycleRun
from saas_lifecycle.quality import Layer, LayerValidation
from saas_lifecycle.runner import (
    FAILED_STATUSES,
    MARTS_LAYER,
    UNIT_TEST_EXCLUSION,
    patched_environ,
)

# The two layers are selectors.yml's named selections, as in `lifecycle run`
# (runner.STAGING_LAYER and runner.MARTS_LAYER). dagster-dbt 0.29 cannot evaluate a
# selector with cautious indirect selection (its manifest stand-in has no test parents: a
# TypeError when the code location loads), so the first layer is staging_only written as a
# select string, run with cautious indirect selection; test_dbt_docs.py checks that both
# select the same nodes.
STAGING_SELECT = "resource_type:seed staging quarantine monitoring"
MARTS_SELECTOR = MARTS_LAYER[1]

# A dbt node error whose message matches is the machine's, not the data's: another process
# holding the DuckDB file, or an I/O hiccup. Retried with backoff; anything else is not.
TRANSIENT_DBT_ERRORS = re.compile(
    r"could not set lock|conflicting lock|io error|resource temporarily unavailable",
    re.IGNORECASE,
)
DBT_RETRY_POLICY = RetryPolicy(
    max_retries=2, delay=30, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)


class TransientDbtError(Exception):
    """dbt stopped for a reason a retry may clear (the step's RetryPolicy retries it)."""


# ---------------------------------------------------------------------------- raw


def raw_tables_asset() -> AssetsDefinition:
    """Every raw table: the schema check (a broken file fails the step) and the raw suite."""
    keys = [raw_table_key(table) for table in RAW_TABLES]

    @multi_asset(
        name="raw_tables",
        specs=[
            AssetSpec(
                raw_table_key(name),
                group_name=RAW_GROUP,
                kinds={"parquet"},
                description=f"Raw table {name} ({'required' if table.required else 'optional'}):"
                " Parquet files under the raw dir, checked against ../shared/RAW_CONTRACT.md.",
            )
            for name, table in RAW_TABLES.items()
        ],
        check_specs=check_specs(keys, "raw"),
    )
    def raw_tables(context: AssetExecutionContext, lifecycle: LifecycleRun) -> Iterator[Any]:
        from saas_lifecycle.quality.history import previous_volumes
        from saas_lifecycle.quality.validate import validate_raw

        report = lifecycle.schema_report()
        for notice in report.notices:
            context.log.info(notice)
        validation, volumes = validate_raw(
            report.raw_dir,
            list(report.files),
            previous_volumes(lifecycle.warehouse.audit),
            lifecycle.variables(),
        )
        stops = lifecycle.gate(validation, volumes)
        _log_validation(context, validation)
        for name in RAW_TABLES:
            yield MaterializeResult(
                asset_key=raw_table_key(name),
                metadata={
                    "path": MetadataValue.path(str(report.raw_dir / name)),
                    "files": report.files.get(name, 0),
                    "rows": volumes.get(name, 0),
                    "absent": name in report.absent_optional,
                },
            )
        yield from check_results(
            validation, raw_expectation_asset, context.selected_asset_check_keys, stops
        )

    return raw_tables


# ---------------------------------------------------------------------------- dbt


def dbt_layer(
    project: DbtProject,
    name: str,
    *,
    select: str = "fqn:*",
    selector: str | None = None,
    indirect_selection: str | None = None,
) -> AssetsDefinition:
    """One dbt build of a layer (a select string, or a named selection of selectors.yml):
    an asset per seed and model, an asset check per dbt test."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        select=select,
        selector=selector,
        name=name,
        dagster_dbt_translator=LifecycleTranslator(),
        retry_policy=DBT_RETRY_POLICY,
    )
    def layer(
        context: AssetExecutionContext, dbt: DbtCliResource, lifecycle: LifecycleRun
    ) -> Iterator[Any]:
        lifecycle.raise_if_stopped()
        variables = lifecycle.variables()
        # Unit tests pin logic with the default vars; they run in the test suite (runner.py).
        # The selectors exclude them; a subset of assets is run with --select, hence this.
        args = ["build", *UNIT_TEST_EXCLUSION, *lifecycle.dbt_flags()]
        if variables:
            args += ["--vars", json.dumps(variables)]
        environ = lifecycle.dbt_environ()
        if indirect_selection:
            # dagster-dbt reads the user's default from here and overrides it for subsets.
            environ["DBT_INDIRECT_SELECTION"] = indirect_selection
        # One artefact folder per run: the second layer reuses the first one's parse.
        target = project.target_path / "runs" / context.run_id
        (target / "run_results.json").unlink(missing_ok=True)  # an earlier attempt's
        with patched_environ(environ):
            invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=target)
        yield from invocation.stream()
        if not invocation.is_successful():
            raise dbt_failure(invocation)

    return layer


def dbt_failure(invocation: DbtCliInvocation) -> Exception:
    """A retryable TransientDbtError, or a Failure that no retry will fix."""
    step = f"dbt {invocation.dbt_command}"
    try:
        results = invocation.get_artifact("run_results.json").get("results", [])
    except FileNotFoundError:
        if invocation.process.returncode < 0:  # killed by a signal
            return TransientDbtError(f"{step} was killed (signal {-invocation.process.returncode})")
        error = invocation.get_error()
        return Failure(f"{step} stopped before running any node: {error}", allow_retries=False)
    failed = [r for r in results if str(r.get("status")) in FAILED_STATUSES]
    names = ", ".join(r["unique_id"].split(".")[-1] for r in failed[:5])
    more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
    summary = f"{step}: {len(failed)} failure(s): {names}{more}"
    if any(TRANSIENT_DBT_ERRORS.search(r.get("message") or "") for r in failed):
        return TransientDbtError(summary)
    return Failure(summary, allow_retries=False)


# ---------------------------------------------------------------------------- quality


def great_expectations_checks(
    layer: Layer, assets_by_expectation: Mapping[str, AssetKey]
) -> AssetChecksDefinition:
    """The staging or marts suite on the build database, as one blocking check per asset."""

    @multi_asset_check(
        name=f"great_expectations_{layer}",
        specs=check_specs(assets_by_expectation.values(), layer),
        can_subset=True,
    )
    def suite(context: AssetCheckExecutionContext, lifecycle: LifecycleRun) -> Iterator[Any]:
        from saas_lifecycle.quality.validate import validate_database

        validation = validate_database(lifecycle.build_database(), layer, lifecycle.variables())
        stops = lifecycle.gate(validation)
        _log_validation(context, validation)
        yield from check_results(
            validation, assets_by_expectation.get, context.selected_asset_check_keys, stops
        )

    return suite


def _log_validation(context: Any, validation: LayerValidation) -> None:
    from saas_lifecycle.quality.validate import format_report

    log: Callable[[str], None] = (
        context.log.warning if validation.blocking_failures else context.log.info
    )
    log(format_report([validation]))


# ---------------------------------------------------------------------------- publish


def publish_asset(upstream: Sequence[AssetKey]) -> AssetsDefinition:
    """Publish the build once everything upstream was built and passed its blocking checks.

    `published_warehouse` is the served file and Parquet set; `served/<mart>` is each mart
    BI reads. A mart that a blocking failure reaches keeps its served version: its
    `served/<mart>` is not materialized, the other marts are, and the step then fails, so
    the run alerts as `lifecycle run` exits 1 (runner.Gates, quality/impact.py).
    """
    served = {served_key(key): key for key in upstream if key.path[0] == settings.MARTS_SCHEMA}

    @multi_asset(
        name="publish",
        group_name="publish",
        specs=[
            AssetSpec(
                PUBLISHED_KEY,
                deps=list(upstream),
                kinds={"duckdb", "parquet"},
                description="The served warehouse BI reads (marts and monitoring only) and the"
                " marts as Parquet: written fresh from the build state and switched in with one"
                " atomic rename each, only when every blocking check upstream passed or held"
                " back only some marts (write-audit-publish, saas_lifecycle/publish.py).",
            ),
            *(
                AssetSpec(
                    key,
                    deps=[mart],
                    kinds={"duckdb", "parquet"},
                    skippable=True,
                    description=f"marts.{mart.path[-1]} as BI reads it in the served file"
                    " and Parquet set; not materialized when a blocking failure upstream"
                    " holds it back at its last good version.",
                )
                for key, mart in served.items()
            ),
        ],
    )
    def publish(lifecycle: LifecycleRun) -> Iterator[MaterializeResult]:
        lifecycle.raise_if_stopped()
        result = lifecycle.publish()
        held_back = result.held_back
        yield MaterializeResult(
            asset_key=PUBLISHED_KEY,
            metadata={
                "path": MetadataValue.path(str(result.database)),
                "parquet": MetadataValue.path(str(result.parquet)),
                "mart_rows": MetadataValue.json(result.marts),
                "held_back": MetadataValue.json(held_back),
                "audit_database": MetadataValue.path(str(lifecycle.warehouse.audit)),
                "data_docs": MetadataValue.path(str(lifecycle.warehouse.data_docs)),
            },
        )
        for key, mart in served.items():
            name = mart.path[-1]
            if name not in held_back:
                yield MaterializeResult(asset_key=key, metadata={"rows": result.marts.get(name)})
        if held_back:
            raise Failure(lifecycle.held_back_reason(), allow_retries=False)

    return publish


def served_key(mart: AssetKey) -> AssetKey:
    """`served/<mart>` for the dbt asset `marts/<mart>`."""
    return AssetKey([SERVED_GROUP, mart.path[-1]])
