"""The guarded run on a Spark target (dbt-spark; the `spark` output of profiles.yml).

The same layers and gates as on DuckDB, with Spark's own write-audit-publish: there is no
database file to swap, so each run builds every schema in a build slot (`marts__blue` or
`marts__green`, the one not published), validates it, and publishes it by pointing the
views of the published schemas at it (macros/build_slots.sql, run with `dbt run-operation`
so that any dbt-spark connection method works). The staging and marts Great Expectations
suites run their aggregate queries through the Spark session when the profile's method is
`session` (the local PySpark that dbt-spark starts in this process); with a Thrift or HTTP
connection there is no session here, so only the dbt tests guard those layers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from saas_lifecycle import settings

if TYPE_CHECKING:
    from saas_lifecycle.publish import Warehouse
    from saas_lifecycle.runner import Gates

# Adapters whose targets take this path (dbt-databricks dispatches to the spark__ macros).
SPARK_ADAPTERS = frozenset({"spark", "databricks"})
# The line prepare_build_slot logs, followed by a JSON object.
SLOT_LOG_PREFIX = "lifecycle-build-slot "


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
class SlotState:
    """What prepare_build_slot logged: the published slot, the slot to build, and the
    incremental settings the slot to build was last built with ({} if unknown)."""

    published: str | None = None
    build: str = "blue"
    settings: dict[str, str] = field(default_factory=dict)
    seen: bool = False

    def __call__(self, msg: Any) -> None:
        """dbt event callback: read the line prepare_build_slot logs."""
        if msg.info.name != "JinjaLogInfo" or not msg.data.msg.startswith(SLOT_LOG_PREFIX):
            return
        state = json.loads(msg.data.msg[len(SLOT_LOG_PREFIX) :])
        self.published, self.build = state["published"], state["build"]
        self.settings = {str(k): str(v) for k, v in state["settings"].items()}
        self.seen = True

    @property
    def suffix(self) -> str:
        return f"__{self.build}"


def spark_session() -> Any:
    """The Spark session dbt-spark's session method started in this process."""
    from pyspark.sql import SparkSession

    return SparkSession.builder.getOrCreate()


def guarded_build(
    raw: Path,
    warehouse: Warehouse,
    gates: Gates,
    variables: Mapping[str, Any],
    target: str,
    full_refresh: bool,
) -> None:
    """Build a slot, validate staging and marts, publish the slot (see the module doc)."""
    from saas_lifecycle import runner  # runner imports this module
    from saas_lifecycle.quality.validate import validate_spark

    uses_session = profile_output(target).get("method") == "session"
    environ = runner.dbt_environ(raw, warehouse.published, target)
    environ[settings.ENV_SPARK_WAREHOUSE] = str(spark_warehouse(warehouse.published))
    with runner.patched_environ(environ):
        slot = SlotState()
        runner.run_dbt(
            "run-operation", variables, False, ("prepare_build_slot",), "build slot", [slot]
        )
        if not slot.seen:
            raise runner.RunError("build slot: prepare_build_slot logged no slot")
        if uses_session:
            # dbt-spark asks for the session on every statement, and Spark warns each time.
            spark_session().sparkContext.setLogLevel("ERROR")
        runner.say(f"building slot {slot.build} (published: {slot.published or 'none yet'})")
        build_vars = {**variables, "build_schema_suffix": slot.suffix}
        wanted = runner.incremental_settings(variables)
        if not full_refresh and slot.settings != wanted:
            changed = [
                f"{name} {slot.settings.get(name)} -> {value}"
                for name, value in wanted.items()
                if slot.settings.get(name) != value
            ]
            reason = f"changed {', '.join(changed)}" if slot.settings else "no complete build"
            runner.say(f"full refresh of the incremental models in slot {slot.build}: {reason}")
            full_refresh = True
        for layer, selection in (("staging", runner.STAGING_LAYER), ("marts", runner.MARTS_LAYER)):
            runner.run_dbt("build", build_vars, full_refresh, selection, f"dbt build ({layer})")
            if uses_session:
                gates.check(validate_spark(spark_session(), layer, variables, slot.suffix))
            else:
                runner.say(
                    f"{layer} validation: skipped (the Great Expectations suites need the"
                    " profile's session method; the dbt tests above guard this layer)"
                )
        published_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        arguments = {"slot": slot.build, "run_id": gates.run_id, "published_at": published_at}
        runner.run_dbt(
            "run-operation",
            build_vars,
            False,
            ("publish_build_slot", "--args", json.dumps({**arguments, "settings": wanted})),
            "publish",
        )
    runner.say(f"published: slot {slot.build} as the views of the published schemas")


def print_summary(target: str) -> None:
    """Rows per published mart and quarantine table (through the session, if there is one)."""
    from saas_lifecycle import runner

    if profile_output(target).get("method") != "session":
        runner.say(f"marts: schema {settings.MARTS_SCHEMA} of target {target}")
        return
    session = spark_session()
    for title, schema in (
        (f"marts: target {target}, schema {settings.MARTS_SCHEMA}", settings.MARTS_SCHEMA),
        (f"quarantine, schema {settings.QUARANTINE_SCHEMA}", settings.QUARANTINE_SCHEMA),
    ):
        names = sorted(t.name for t in session.catalog.listTables(schema) if not t.isTemporary)
        counts = [(n, session.table(f"{schema}.{n}").count()) for n in names]
        runner._print_counts(title, counts)
