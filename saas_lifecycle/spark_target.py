"""The guarded run on a Spark target (dbt-spark; the `spark` output of profiles.yml).

The same layers, gates and serving as on DuckDB. The build state is the target's own
schemas (staging, intermediate, marts, ...), built in place: incremental models add the new
batch, nothing is copied or rebuilt in a second slot. Once the gates passed, the marts are
served as Parquet like DuckDB's (publish.publish_parquet): `dbt run-operation export_marts`
(macros/serve_parquet.sql) writes each mart into a new run folder with `insert overwrite
directory`, then the manifest is written and `current` switched in one rename. BI reads
those folders, never the schemas a run is rebuilding. The incremental settings and whether
the last build was published whole are recorded in `lifecycle_build_settings.json` in the
Spark warehouse folder (the next run rebuilds the incremental models in full otherwise).

The staging and marts Great Expectations suites run their aggregate queries through the
Spark session when the profile's method is `session` (the local PySpark that dbt-spark
starts in this process); with a Thrift or HTTP connection there is no session here, so only
the dbt tests guard those layers. On a cluster, the Parquet folders are written by the
cluster: put --database in a folder it shares with this machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from saas_lifecycle import settings
from saas_lifecycle.publish import (
    BUILD_STATUS,
    PUBLISHED,
    Exported,
    Warehouse,
    publish_parquet,
    read_manifest,
)

if TYPE_CHECKING:
    from saas_lifecycle.runner import Gates

# Adapters whose targets take this path (dbt-databricks dispatches to the spark__ macros).
SPARK_ADAPTERS = frozenset({"spark", "databricks"})
# The line export_marts logs, followed by a JSON object.
EXPORT_LOG_PREFIX = "lifecycle-export "
BUILD_SETTINGS_FILE = "lifecycle_build_settings.json"


def profile_output(target: str) -> dict[str, Any]:
    """The output `target` of profiles.yml, unrendered (its type and method are literals);
    empty for a target profiles.yml does not have (dbt then reports it)."""
    profiles = yaml.safe_load((settings.REPO_ROOT / "profiles.yml").read_text())
    return next(iter(profiles.values()))["outputs"].get(target) or {}


def is_spark_target(target: str) -> bool:
    """True when the target's adapter is Spark or Databricks."""
    return profile_output(target).get("type") in SPARK_ADAPTERS


def spark_warehouse(database: Path) -> Path:
    """$LIFECYCLE_SPARK_WAREHOUSE, else a `spark` folder beside the DuckDB path, so that a run
    with --database in a private folder keeps its Spark tables and metastore there too."""
    configured = os.environ.get(settings.ENV_SPARK_WAREHOUSE)
    path = Path(configured) if configured else database.parent / settings.SPARK_WAREHOUSE_DIRNAME
    return path.resolve()


@dataclass
class ExportLog:
    """dbt event callback: what export_marts logged."""

    exported: Exported | None = None

    def __call__(self, msg: Any) -> None:
        if msg.info.name != "JinjaLogInfo" or not msg.data.msg.startswith(EXPORT_LOG_PREFIX):
            return
        logged = json.loads(msg.data.msg[len(EXPORT_LOG_PREFIX) :])
        rows = {str(mart): int(count) for mart, count in logged["rows"].items()}
        self.exported = Exported(rows, logged["as_of_date"], logged["reporting_timezone"])


def spark_session() -> Any:
    """The Spark session dbt-spark's session method started in this process."""
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()


def settings_file(warehouse: Warehouse) -> Path:
    return spark_warehouse(warehouse.published) / BUILD_SETTINGS_FILE


def read_settings(warehouse: Warehouse) -> dict[str, str] | None:
    path = settings_file(warehouse)
    return json.loads(path.read_text()) if path.is_file() else None


def write_settings(warehouse: Warehouse, values: Mapping[str, str]) -> None:
    path = settings_file(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(dict(values), indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


def mart_names() -> list[str]:
    """The marts of the project, from the manifest dbt wrote in this run."""
    from saas_lifecycle import runner

    return runner.marts_of(runner.load_manifest())


def guarded_build(
    raw: Path,
    warehouse: Warehouse,
    gates: Gates,
    variables: Mapping[str, Any],
    target: str,
    full_refresh: bool,
) -> None:
    """Build the layers in place, validate staging and marts, serve the marts as Parquet."""
    from saas_lifecycle import runner  # runner imports this module
    from saas_lifecycle.quality.validate import validate_spark

    runner.refuse_schema_suffix(variables)
    uses_session = profile_output(target).get("method") == "session"
    environ = runner.dbt_environ(raw, warehouse.state, target)
    environ[settings.ENV_SPARK_WAREHOUSE] = str(spark_warehouse(warehouse.published))
    build_settings = runner.incremental_settings(variables)
    if not full_refresh:
        recorded = read_settings(warehouse)
        reason = runner.full_refresh_reason(recorded, build_settings) if recorded else "first build"
        if reason:
            runner.say(f"full refresh of the incremental models: {reason}")
            full_refresh = True
    write_settings(warehouse, {**build_settings, BUILD_STATUS: f"building {gates.run_id}"})
    with runner.patched_environ(environ):
        for layer, selection in (("staging", runner.STAGING_LAYER), ("marts", runner.MARTS_LAYER)):
            runner.run_dbt("build", variables, full_refresh, selection, f"dbt build ({layer})")
            if uses_session:
                # dbt-spark asks for the session on every statement, and Spark warns each time.
                spark_session().sparkContext.setLogLevel("ERROR")
                gates.check(validate_spark(spark_session(), layer, variables))
            else:
                runner.say(
                    f"{layer} validation: skipped (the Great Expectations suites need the"
                    " profile's session method; the dbt tests above guard this layer)"
                )

        def export(folder: Path, marts: list[str]) -> Exported:
            log = ExportLog()
            arguments = json.dumps({"location": str(folder), "marts": marts})
            runner.run_dbt(
                "run-operation",
                variables,
                False,
                ("export_marts", "--args", arguments),
                "publish (Parquet marts)",
                [log],
            )
            if log.exported is None:
                raise runner.RunError("publish: export_marts logged no result")
            return log.exported

        result = publish_parquet(warehouse, gates.run_id, mart_names(), export, gates.held_back)
    status = PUBLISHED if not result.held_back else f"held back in {gates.run_id}"
    write_settings(warehouse, {**build_settings, BUILD_STATUS: status})
    runner.say(f"published: {result.parquet}/ ({runner.plural(len(result.marts), 'mart')})")


def print_summary(target: str, warehouse: Warehouse) -> None:
    """Rows per served mart (the manifest) and quarantine table (through the session)."""
    from saas_lifecycle import runner

    manifest = read_manifest(warehouse)
    counts = [(mart, entry["rows"]) for mart, entry in manifest.get("marts", {}).items()]
    runner._print_counts(
        f"marts: {warehouse.parquet / 'current'} (Parquet, target {target})", counts
    )
    if profile_output(target).get("method") != "session":
        return
    session = spark_session()
    schema = settings.QUARANTINE_SCHEMA
    names = sorted(t.name for t in session.catalog.listTables(schema) if not t.isTemporary)
    counts = [(n, session.table(f"{schema}.{n}").count()) for n in names]
    runner._print_counts(f"quarantine, schema {schema}", counts)
