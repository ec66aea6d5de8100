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


def dbt(args: list[str], work: Path) -> None:
    """One dbt command on the repository's project with private paths."""
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


@pytest.mark.e2e
def test_docs_generate_catalogs_every_mart_with_its_lineage(tmp_path: Path) -> None:
    from saas_lifecycle.generate import generate

    generate(tmp_path / "raw", **TINY)
    dbt(["build", "--empty", "--resource-type", "seed", "--resource-type", "model"], tmp_path)
    dbt(["docs", "generate", "--static"], tmp_path)

    target = tmp_path / "target"
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
