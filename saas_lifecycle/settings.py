"""Paths, environment variable names and defaults of the command line, in one place."""

from __future__ import annotations

from pathlib import Path

# The repository root holds dbt_project.yml and profiles.yml (the package is installed editable).
REPO_ROOT = Path(__file__).resolve().parents[1]

# Environment variables read by profiles.yml and the dbt sources; the command line sets them.
ENV_RAW_DIR = "RAW_DATA_DIR"
# The served DuckDB file BI reads (the command line's --database); the guarded run writes it
# whole at each publish and never lets dbt connect to it.
ENV_DATABASE = "LIFECYCLE_DUCKDB_PATH"
# The build state of the guarded `duckdb` dbt target (staging, quarantine, intermediate, the
# incremental tables): `lifecycle run` sets it to `<name>.state.duckdb` beside the served file.
ENV_STATE_DATABASE = "LIFECYCLE_STATE_DUCKDB_PATH"
ENV_TARGET = "LIFECYCLE_TARGET"
ENV_DUCKDB_TEMP_DIR = "LIFECYCLE_DUCKDB_TEMP_DIR"
# Spark targets: where the local warehouse (tables, Hive metastore) lives; `lifecycle run`
# defaults it to SPARK_WAREHOUSE_DIRNAME beside the DuckDB path, profiles.yml to warehouse/spark.
ENV_SPARK_WAREHOUSE = "LIFECYCLE_SPARK_WAREHOUSE"
SPARK_WAREHOUSE_DIRNAME = "spark"

DEFAULT_RAW_DIR = REPO_ROOT / "data" / "raw"
DEFAULT_DATABASE = REPO_ROOT / "warehouse" / "lifecycle.duckdb"
DEFAULT_TARGET = "duckdb"

# Schemas the dbt project builds into (macros/generate_schema_name.sql uses them verbatim).
MARTS_SCHEMA = "marts"
MONITORING_SCHEMA = "monitoring"
QUARANTINE_SCHEMA = "quarantine"
# Relation listing event names missing from the event_taxonomy seed, and the schemas that may
# hold it, searched in this order.
UNKNOWN_EVENTS_RELATION = "unknown_event_names"
UNKNOWN_EVENTS_SCHEMAS = ("monitoring", "staging")

# The e-mail salt (macros/hashing.sql reads it at run time through saas_lifecycle.dbt_salt).
ENV_EMAIL_SALT = "LIFECYCLE_EMAIL_SALT"
# Public (the README names it): fine for the generator's fake addresses, never for real ones.
DEMO_EMAIL_SALT = "saas-lifecycle-demo-salt"


def email_salt() -> str:
    """The salt in effect: $LIFECYCLE_EMAIL_SALT, or the demo salt when unset or empty."""
    import os

    return os.environ.get(ENV_EMAIL_SALT) or DEMO_EMAIL_SALT
