"""The e-mail salt never lands in an artefact.

A unique salt is set, the main job (`lifecycle run`) runs on tiny data and the dbt docs are
generated; then every file the two wrote (dbt's target/ and logs, the static docs page, the
Data Docs, the HTML report, every DuckDB file) is searched for the salt. DuckDB files are
searched byte for byte and, since DuckDB compresses strings, also through SQL: every view
definition and every text column. The e-mail hashes in the warehouse must still be the
salted hashes of the raw addresses, so the salt did reach the queries.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pytest
from repo_process import run_in_repo

from saas_lifecycle import settings
from saas_lifecycle.generate import generate

ENV_EMAIL_SALT = "LIFECYCLE_EMAIL_SALT"
TINY = {"users": 40, "days": 20, "seed": 11}
DBT = str(Path(sys.executable).parent / "dbt")


def text_hits(con: duckdb.DuckDBPyConnection, needle: str) -> list[str]:
    """Views whose SQL, and text columns whose values, contain `needle`."""
    hits = [
        f"view {schema}.{name}"
        for schema, name, sql in con.execute(
            "select schema_name, view_name, sql from duckdb_views() where not internal"
        ).fetchall()
        if needle in (sql or "")
    ]
    columns = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns"
        " where data_type = 'VARCHAR' and table_catalog = current_database()"
    ).fetchall()
    for schema, table, column in columns:
        found = con.execute(
            f'select count(*) from "{schema}"."{table}" where contains("{column}", ?)', [needle]
        ).fetchone()[0]
        if found:
            hits.append(f"{schema}.{table}.{column}")
    return hits


def databases(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.duckdb") if p.is_file())


@pytest.mark.e2e
def test_salt_reaches_the_hashes_but_no_artefact(tmp_path: Path) -> None:
    salt = f"salt-{uuid.uuid4().hex}"
    raw, work = tmp_path / "raw", tmp_path / "work"
    generate(raw, **TINY)
    database = work / "warehouse" / "lifecycle.duckdb"
    env = {
        ENV_EMAIL_SALT: salt,
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    # Tiny data carries bad rows far above the default quarantine gate; not this test's topic.
    done = run_in_repo(
        [sys.executable, "-m", "saas_lifecycle.cli", "run", "--raw-dir", str(raw)]
        + ["--database", str(database), "--vars", "{quarantine_max_share: 1}"],
        env,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    docs = run_in_repo(
        [DBT, "docs", "generate", "--static", "--profiles-dir", str(settings.REPO_ROOT)],
        {
            **env,
            settings.ENV_RAW_DIR: str(raw),
            settings.ENV_TARGET: settings.DEFAULT_TARGET,
            settings.ENV_DATABASE: str(database),
        },
    )
    assert docs.returncode == 0, docs.stdout[-4000:] + docs.stderr[-2000:]

    # What there is to search: the run's and the docs' artefacts, the report, the Data Docs.
    files = [p for p in work.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"manifest.json", "run_results.json", "static_index.html", "dbt.log"} <= names
    assert any(p.suffix == ".sql" and "compiled" in p.parts for p in files)
    html = [p for p in files if p.suffix == ".html"]
    assert any("report" in str(p) for p in html) and len(html) >= 3, html  # report, GX docs
    found_in = [str(p) for p in files if salt.encode() in p.read_bytes()]
    assert not found_in, f"the salt is in {found_in}"
    # The console output of both commands too.
    assert salt not in done.stdout + done.stderr + docs.stdout + docs.stderr

    # Every database, through SQL. A user id from the raw data is found the same way, so the
    # search does see the tables' text.
    emails = ds.dataset(raw / "users", format="parquet").to_table(["user_id", "email"]).to_pylist()
    some_user = emails[0]["user_id"]
    salted = {
        hashlib.sha256((salt + row["email"].strip().lower()).encode()).hexdigest()
        for row in emails
        if row["email"]
    }
    hashes_checked = 0
    assert databases(work), "the run wrote no DuckDB file"
    for path in databases(work):
        with duckdb.connect(str(path), read_only=True) as con:
            assert not text_hits(con, salt), f"{path}: {text_hits(con, salt)}"
            if text_hits(con, some_user):
                tables = con.execute(
                    "select table_schema from information_schema.tables"
                    " where table_name = 'stg_app__user_versions'"
                ).fetchall()
                for (schema,) in tables:
                    stored = {
                        h
                        for (h,) in con.execute(
                            f'select email_hash from "{schema}".stg_app__user_versions'
                            " where email_hash is not null"
                        ).fetchall()
                    }
                    assert stored and stored <= salted, f"{path}: hashes not salted with the salt"
                    hashes_checked += len(stored)
    assert hashes_checked > 0, "no stg_app__user_versions with e-mail hashes was found"


def test_the_salt_is_not_in_the_compiled_sql(tmp_path: Path) -> None:
    """`dbt compile` of a hashing model shows the session variable, not the salt."""
    salt = f"salt-{uuid.uuid4().hex}"
    done = subprocess.run(
        [DBT, "compile", "-s", "stg_app__user_versions", "--profiles-dir", str(settings.REPO_ROOT)]
        + ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=settings.REPO_ROOT,
        env={
            **os.environ,
            ENV_EMAIL_SALT: salt,
            "LIFECYCLE_DEV_DUCKDB_PATH": str(tmp_path / "dev.duckdb"),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    compiled = next((tmp_path / "target" / "compiled").rglob("stg_app__user_versions.sql"))
    sql = compiled.read_text()
    assert "getvariable('lifecycle_email_salt')" in sql
    assert salt not in sql and "saas-lifecycle-demo-salt" not in sql
