"""Great Expectations validations as Dagster asset checks.

Every asset a suite validates gets one blocking check, `great_expectations`, that runs
that asset's expectations (saas_lifecycle/quality/suites.py): it passes when all pass.
A failing `error` expectation is judged as `lifecycle run` judges it (runner.Gates): when
the run's blocking failures reach every mart, the check fails with ERROR severity and
Dagster runs nothing downstream of the asset; when they reach only some marts, it fails
with WARN severity, the graph goes on, and the publish step keeps those marts at their
served version, then fails the run. Failing `warn` expectations, and acknowledged
failures, fail with WARN severity, a warning that blocks nothing. An expectation is on the
relation its queries read first (staging and marts) or on the raw table it is named after
(raw).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    Failure,
    MetadataValue,
)

from saas_lifecycle import settings
from saas_lifecycle.contract import RAW_TABLES
from saas_lifecycle.orchestration.project import raw_table_key
from saas_lifecycle.quality import ExpectationOutcome, LayerValidation
from saas_lifecycle.quality.suites import Spec

GX_CHECK_NAME = "great_expectations"


def raw_expectation_asset(expectation: str) -> AssetKey | None:
    """Raw expectations are named `<raw table>.<what>`."""
    table = expectation.split(".", 1)[0]
    return raw_table_key(table) if table in RAW_TABLES else None


def expectation_assets(specs: Iterable[Spec]) -> dict[str, AssetKey]:
    """Expectation name -> the asset (dbt relation `schema.table`) its queries read first."""
    return {spec.name: AssetKey(spec.requires[0].split(".")) for spec in specs if spec.requires}


def mart_relations(manifest: Mapping[str, Any]) -> dict[str, list[str]]:
    """`marts.<model>` -> its columns, from the dbt manifest (the marts' contracts enforce
    them, so they are the columns the marts suite will find)."""
    return {
        f"{settings.MARTS_SCHEMA}.{node['alias']}": list(node["columns"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == settings.MARTS_SCHEMA
    }


def check_specs(assets: Iterable[AssetKey], layer: str) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            GX_CHECK_NAME,
            asset=key,
            blocking=True,
            description=f"The {layer} Great Expectations suite's expectations on this asset"
            " (saas_lifecycle/quality/suites.py): a failing `error` expectation holds back the"
            " served marts downstream (every downstream asset when it reaches every mart), a"
            " failing `warn` one is reported.",
        )
        for key in sorted(set(assets), key=lambda k: k.to_user_string())
    ]


def check_results(
    validation: LayerValidation,
    asset_of: Callable[[str], AssetKey | None],
    selected: Iterable[AssetCheckKey],
    stops: bool,
) -> Iterator[AssetCheckResult]:
    """One result per selected check, from the outcomes of the expectations on its asset.

    `stops`: the run's blocking failures reach every mart, so a blocking failure fails its
    check with ERROR severity and Dagster runs nothing downstream. Otherwise it holds back
    only the marts it reaches, at publish (assets.publish_asset), and fails with WARN
    severity so that the rest of the graph runs, as `lifecycle run` does.

    An outcome that maps to no asset would be a suite change this module does not know:
    it fails the step rather than let a blocking failure go unreported.
    """
    by_asset: dict[AssetKey, list[ExpectationOutcome]] = defaultdict(list)
    unmapped: list[str] = []
    for outcome in validation.outcomes:
        key = asset_of(outcome.expectation)
        if key is None:
            unmapped.append(outcome.expectation)
        else:
            by_asset[key].append(outcome)
    if unmapped:
        raise Failure(
            f"{validation.layer} expectations without an asset check: {', '.join(unmapped)}",
            allow_retries=False,
        )
    for check_key in sorted(selected, key=lambda k: k.asset_key.to_user_string()):
        if check_key.name == GX_CHECK_NAME:
            yield _result(check_key.asset_key, by_asset.get(check_key.asset_key, []), stops)


def _result(
    asset: AssetKey, outcomes: Sequence[ExpectationOutcome], stops: bool
) -> AssetCheckResult:
    failed = [o for o in outcomes if not o.success]
    blocking = [o for o in failed if o.blocks]  # acknowledged failures are warnings
    warnings = len(failed) - len(blocking)
    held = " (the marts downstream keep their served version)" if blocking and not stops else ""
    return AssetCheckResult(
        asset_key=asset,
        check_name=GX_CHECK_NAME,
        passed=not failed,
        severity=AssetCheckSeverity.ERROR if blocking and stops else AssetCheckSeverity.WARN,
        description=f"{len(outcomes)} expectation(s): {len(blocking)} blocking failure(s){held},"
        f" {warnings} warning(s)",
        metadata={
            "expectations": MetadataValue.md(_table(outcomes)),
            "failed_expectations": ", ".join(o.expectation for o in failed) or "none",
            "sample_failing_rows": MetadataValue.json(
                {o.expectation: o.sample_failing_rows for o in failed if o.sample_failing_rows}
            ),
        },
    )


def _table(outcomes: Sequence[ExpectationOutcome]) -> str:
    lines = ["| expectation | severity | result | observed |", "| --- | --- | --- | --- |"]
    for o in outcomes:
        observed = " ".join(o.observed_value.split()).replace("|", "\\|")
        lines.append(
            f"| {o.expectation} | {o.severity} | {'pass' if o.success else 'FAIL'} | {observed} |"
        )
    return "\n".join(lines)
