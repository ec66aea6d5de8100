"""`dbt docs generate` documents and catalogs every mart (the README's lineage browsing).

The catalog reads table and column types from the warehouse, so the models are first built
with `--empty` (every relation with its real columns and no rows: seconds, not a full
build) in a private DuckDB file; target/ and logs/ are private too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from saas_lifecycle import settings

TINY = {"users": 30, "days": 10, "seed": 3}
TIMEOUT_SECONDS = 600
DBT = str(Path(sys.executable).parent / "dbt")


def dbt(args: list[str], work: Path) -> str:
    """One dbt command on the repository's project with private paths; its output."""
    done = subprocess.run(
        [
            DBT,
            *args,
            "--profiles-dir",
            str(settings.REPO_ROOT),
            "--project-dir",
            str(settings.REPO_ROOT),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
        ],
        cwd=settings.REPO_ROOT,
        env={
            **os.environ,
            settings.ENV_RAW_DIR: str(work / "raw"),
            settings.ENV_TARGET: settings.DEFAULT_TARGET,
            settings.ENV_STATE_DATABASE: str(work / "docs.duckdb"),
            settings.ENV_DUCKDB_TEMP_DIR: str(work / "duckdb_tmp"),
        },
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"dbt {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def documented(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private work dir where the models were built `--empty` and the docs generated."""
    from saas_lifecycle.generate import generate

    work = tmp_path_factory.mktemp("docs")
    generate(work / "raw", **TINY)
    dbt(["build", "--empty", "--resource-type", "seed", "--resource-type", "model"], work)
    dbt(["docs", "generate", "--static"], work)
    return work


@pytest.mark.e2e
def test_docs_generate_catalogs_every_mart_with_its_lineage(documented: Path) -> None:
    target = documented / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    marts = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["schema"] == settings.MARTS_SCHEMA
    }
    assert len(marts) >= 20
    for unique_id, node in marts.items():
        assert unique_id in catalog["nodes"], f"{node['name']} is not in catalog.json"
        cataloged = {name.lower() for name in catalog["nodes"][unique_id]["columns"]}
        assert cataloged == set(node["columns"]), f"{node['name']}: documented != built columns"
        assert node["description"], f"{node['name']} has no description"
        # Lineage: every mart is built from other models, never straight from a source.
        upstream = node["depends_on"]["nodes"]
        assert upstream and all(not u.startswith("source.") for u in upstream), node["name"]

    assert (target / "index.html").is_file()
    # --static inlines the manifest and catalog: the page opens from disk, no server needed.
    static = (target / "static_index.html").read_text()
    assert "dim_users" in static and "mrr_movements_monthly" in static


@pytest.mark.e2e
def test_dbt_conventions_groups_access_selectors_exposures_and_comments(documented: Path) -> None:
    """What a dbt user expects of the project: owners and access levels, named selectors,
    exposures that point somewhere, a description on every test (also on the Dagster
    checks) and descriptions persisted as table and column comments for BI tools."""
    import duckdb
    from dagster_dbt.asset_utils import build_dbt_specs

    from saas_lifecycle.orchestration.project import LifecycleTranslator

    manifest = json.loads((documented / "target" / "manifest.json").read_text())
    nodes = manifest["nodes"].values()

    # Groups with owners; intermediate models protected, marts public.
    groups = manifest["groups"].values()
    assert groups and all(group["owner"].get("email") for group in groups)
    models = [node for node in nodes if node["resource_type"] == "model"]
    assert all(node["group"] for node in models)
    for node in models:
        expected = "public" if node["schema"] == settings.MARTS_SCHEMA else "protected"
        assert node["access"] == expected, node["unique_id"]
    assert any(n["access"] == "protected" and n["schema"] == "intermediate" for n in models)

    # Exposures say where they are.
    exposures = manifest["exposures"].values()
    assert exposures and all(exposure.get("url") for exposure in exposures)

    # Every singular test has its own description; every dbt test's Dagster check has one.
    tests = [node for node in nodes if node["resource_type"] == "test"]
    singular = [node for node in tests if not node.get("test_metadata")]
    assert len(singular) >= 15
    assert all(node["description"] for node in singular), [
        node["name"] for node in singular if not node["description"]
    ]
    _, checks = build_dbt_specs(
        translator=LifecycleTranslator(),
        manifest=manifest,
        select="fqn:*",
        exclude="",
        selector="",
        io_manager_key=None,
        project=None,
    )
    assert len(checks) >= len(tests) * 0.9  # tests on sources or two models may not map
    assert all(check.description for check in checks), [c.name for c in checks if not c.description]
    described = {check.name: check.description for check in checks}
    assert described["not_null_dim_users_user_id"] == "dim_users.user_id is never null."

    # Selectors: the two layers of the run do not overlap and make up the nightly selection.
    def selected(selector: str) -> set[str]:
        listed = dbt(["ls", "--selector", selector, "--output", "name", "--quiet"], documented)
        return set(listed.split())

    staging, marts, nightly = (selected(name) for name in ("staging_only", "marts_only", "nightly"))
    assert "stg_product__tracks" in staging and "dim_users" not in staging
    assert "dim_users" in marts and "stg_product__tracks" not in marts
    assert not staging & marts and staging | marts == nightly
    # Dagster's staging layer is staging_only written as a select string (assets.py).
    from saas_lifecycle.orchestration.assets import STAGING_SELECT

    listed = dbt(
        ["ls", "--select", STAGING_SELECT, "--exclude", "test_type:unit"]
        + ["--indirect-selection", "cautious", "--output", "name", "--quiet"],
        documented,
    )
    assert set(listed.split()) == staging

    # Descriptions persisted: a BI tool reading the warehouse sees them as comments.
    dim_users = manifest["nodes"]["model.saas_lifecycle.dim_users"]
    with duckdb.connect(str(documented / "docs.duckdb"), read_only=True) as con:
        (table_comment,) = con.execute(
            "select comment from duckdb_tables() where schema_name = ? and table_name = ?",
            [settings.MARTS_SCHEMA, "dim_users"],
        ).fetchone()
        columns = dict(
            con.execute(
                "select column_name, comment from duckdb_columns()"
                " where schema_name = ? and table_name = ?",
                [settings.MARTS_SCHEMA, "dim_users"],
            ).fetchall()
        )
    assert table_comment == dim_users["description"]
    assert columns["user_id"] == dim_users["columns"]["user_id"]["description"]
