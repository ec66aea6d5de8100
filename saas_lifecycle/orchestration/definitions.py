"""The Dagster code location: `dagster dev -m saas_lifecycle.orchestration.definitions`.

Loading it parses the dbt project when its manifest is missing or stale (project.py).
"""

from __future__ import annotations

import json

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    in_process_executor,
)
from dagster_dbt import DbtProject

from saas_lifecycle.orchestration.assets import (
    MARTS_SELECTOR,
    STAGING_SELECT,
    dbt_layer,
    great_expectations_checks,
    publish_asset,
    raw_tables_asset,
)
from saas_lifecycle.orchestration.checks import expectation_assets, mart_relations
from saas_lifecycle.orchestration.project import dbt_resource, load_project
from saas_lifecycle.orchestration.resources import LifecycleRun
from saas_lifecycle.quality.suites import marts_suite, staging_suite

NIGHTLY_JOB = "lifecycle_nightly"
NIGHTLY_CRON = "0 3 * * *"  # 03:00 UTC, after the raw loads of the night


def build_definitions(project: DbtProject) -> Definitions:
    """Every asset, check, the nightly job and its schedule for a prepared dbt project."""
    manifest = json.loads(project.manifest_path.read_text())
    # Staging tests whose other parent is a later model wait for the second layer, as in
    # `lifecycle run` (cautious indirect selection).
    staging = dbt_layer(
        project, "dbt_staging_layer", select=STAGING_SELECT, indirect_selection="cautious"
    )
    marts = dbt_layer(project, "dbt_marts_layer", selector=MARTS_SELECTOR)
    # The suites' expectation names do not depend on the vars, only their thresholds do.
    staging_checks = great_expectations_checks("staging", expectation_assets(staging_suite({})))
    marts_checks = great_expectations_checks(
        "marts", expectation_assets(marts_suite(mart_relations(manifest)))
    )
    nightly = define_asset_job(
        NIGHTLY_JOB,
        selection=AssetSelection.all(),
        description="Raw checks, dbt build and quality gates layer by layer, then publish:"
        " the job behind `lifecycle run`, asset by asset.",
        # Every step in one process: one writer per DuckDB file, and the run's resource holds
        # the warehouse lock and the validations from the first step to the last.
        executor_def=in_process_executor,
    )
    return Definitions(
        assets=[raw_tables_asset(), staging, marts, publish_asset(list(marts.keys))],
        asset_checks=[staging_checks, marts_checks],
        jobs=[nightly],
        schedules=[
            ScheduleDefinition(
                name=f"{NIGHTLY_JOB}_schedule",
                job=nightly,
                cron_schedule=NIGHTLY_CRON,
                execution_timezone="UTC",
                default_status=DefaultScheduleStatus.RUNNING,
            )
        ],
        resources={"dbt": dbt_resource(project), "lifecycle": LifecycleRun()},
        executor=in_process_executor,
    )


defs = build_definitions(load_project())
