"""The dbt project as the code location sees it: its manifest, dbt executable and asset keys."""

from __future__ import annotations

import fcntl
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetCheckSpec, AssetKey, AssetSpec
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
# The key prefix of the marts as served (assets.publish_asset), one asset per mart.
SERVED_GROUP = "served"


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

    def get_asset_check_spec(
        self,
        asset_spec: AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> AssetCheckSpec | None:
        """dagster-dbt's check, described: dagster-dbt reads only `meta.description`, so the
        test's own description (every singular test has one, tests/_tests.yml) or, for a
        generic test, a sentence from its name and arguments takes its place."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=check_description(manifest, unique_id))


def _ref_name(ref_call: str) -> str:
    """`ref('x')`, or the `{{ get_where_subquery(ref('x')) }}` of a test's model, -> x."""
    found = re.search(r"ref\(\s*['\"]([^'\"]+)['\"]", ref_call)
    return found.group(1) if found else ref_call


def check_description(manifest: Mapping[str, Any], unique_id: str) -> str:
    """What a dbt test checks, in one sentence: its description when it has one, else (a
    generic test) built from the test's name, model, column and arguments."""
    node = manifest["nodes"][unique_id]
    if node.get("description"):
        return node["description"]
    metadata = node.get("test_metadata") or {}
    name, kwargs = metadata.get("name", node["name"]), dict(metadata.get("kwargs") or {})
    model = _ref_name(str(kwargs.pop("model", ""))) or node.get("attached_node", "")
    column = kwargs.pop("column_name", None) or node.get("column_name")
    subject = f"{model}.{column}" if column else model
    if name == "not_null":
        return f"{subject} is never null."
    if name == "unique":
        return f"Every value of {subject} occurs once."
    if name == "accepted_values":
        values = ", ".join(str(value) for value in kwargs.get("values", []))
        return f"{subject} only takes the values: {values}."
    if name == "relationships":
        return f"Every {subject} is a {kwargs.get('field')} of {_ref_name(str(kwargs.get('to')))}."
    # The project's own generic tests: their documented meaning, then this test's arguments.
    macro = manifest.get("macros", {}).get(f"macro.saas_lifecycle.test_{name}", {})
    meaning = macro.get("description") or f"dbt test {name}."
    arguments = "; ".join(f"{key}: {value}" for key, value in sorted(kwargs.items()))
    return f"{subject}: {meaning}" + (f" ({arguments})" if arguments else "")
