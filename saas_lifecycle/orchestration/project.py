"""The dbt project as the code location sees it: its manifest, dbt executable and asset keys."""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetKey
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject

from saas_lifecycle import settings

# What dbt parses: the manifest is stale when any of these changed after it was written.
PROJECT_SOURCES = (
    "dbt_project.yml",
    "profiles.yml",
    "models",
    "macros",
    "seeds",
    "tests",
    "analyses",
)
RAW_GROUP = "raw"
# The asset that publishes the build (the published DuckDB file).
PUBLISHED_KEY = AssetKey(["published_warehouse"])


def dbt_executable() -> str:
    """The dbt installed beside this interpreter (the virtualenv's), on PATH or not."""
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else "dbt"


def artifacts_dir() -> Path:
    """The code location's dbt artefacts: `dagster/` under DBT_TARGET_PATH (the variable dbt
    and dagster-dbt read; default target/), apart from a developer's own dbt runs."""
    base = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    return (base if base.is_absolute() else settings.REPO_ROOT / base) / "dagster"


def _source_files() -> Iterator[Path]:
    for name in PROJECT_SOURCES:
        path = settings.REPO_ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in path.rglob("*") if p.is_file())


def manifest_is_stale(manifest: Path) -> bool:
    """No manifest yet (a fresh clone), or a project file changed after it was written."""
    if not manifest.exists():
        return True
    written = manifest.stat().st_mtime
    return any(path.stat().st_mtime > written for path in _source_files())


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=dbt_executable())


def load_project() -> DbtProject:
    """The dbt project with an up-to-date manifest, parsed now when missing or stale.

    `dbt parse` takes seconds and only runs when the project changed, so a fresh clone, an
    edited model and `dagster dev` all load the current graph. Webserver, daemon and run
    workers may load at once: a file lock lets one of them parse.
    """
    project = DbtProject(
        project_dir=settings.REPO_ROOT,
        target_path=artifacts_dir(),
        profiles_dir=settings.REPO_ROOT,
    )
    manifest = project.manifest_path
    if manifest_is_stale(manifest):
        manifest.parent.mkdir(parents=True, exist_ok=True)
        with manifest.with_name("parse.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if manifest_is_stale(manifest):  # another process may have parsed meanwhile
                dbt_resource(project).cli(["parse", "--quiet"], target_path=manifest.parent).wait()
    return project


def raw_table_key(table: str) -> AssetKey:
    """The asset of one raw table (a folder of Parquet files under the raw dir)."""
    return AssetKey([RAW_GROUP, table])


class LifecycleTranslator(DagsterDbtTranslator):
    """dbt sources become the raw-table assets `raw/<table>` (whose asset checks run the raw
    suite); models and seeds keep dagster-dbt's `<schema>/<name>` keys, which are their
    relations; every asset is grouped by its schema (staging, marts, ...)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return raw_table_key(dbt_resource_props["name"])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return RAW_GROUP
        return dbt_resource_props.get("config", {}).get("schema") or super().get_group_name(
            dbt_resource_props
        )
