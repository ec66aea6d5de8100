"""What the guarded run serves, and only that: the served DuckDB file (marts and monitoring
with their descriptions, no personal data, nothing reading raw files), the Parquet marts
with their manifest (read by pyarrow and by a DuckDB 1.x client), held-back marts that keep
their served version, and the build state that plain dbt and failed runs never serve.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from repo_process import run_in_repo

from saas_lifecycle import runner, settings
from saas_lifecycle.publish import BUILD_STATUS, PUBLISHED, Warehouse, publish, read_build_settings
from saas_lifecycle.quality import ExpectationOutcome, LayerValidation, impact

TINY = {"users": 60, "days": 30, "seed": 7}
# Tiny data carries a bad row of every kind, far above the default quarantine share.
TINY_VARS = "{quarantine_max_share: 1}"
DUCKDB1_PYTHON = settings.REPO_ROOT / ".venv-duckdb1" / "bin" / "python"


@dataclass(frozen=True)
class Served:
    raw: Path
    database: Path
    work: Path

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.database)

    def copy_to(self, folder: Path) -> Warehouse:
        """The served file and the build state copied into `folder` (nothing else)."""
        folder.mkdir(parents=True, exist_ok=True)
        copy = Warehouse(folder / self.database.name)
        shutil.copy2(self.database, copy.published)
        shutil.copy2(self.warehouse.state, copy.state)
        return copy


def lifecycle_run(raw: Path, database: Path, work: Path, *extra: str) -> tuple[int, str, str]:
    env = {
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        settings.ENV_DUCKDB_TEMP_DIR: str(work / "duckdb_tmp"),
    }
    command = [sys.executable, "-m", "saas_lifecycle.cli", "run", "--raw-dir", str(raw)]
    command += ["--database", str(database), "--no-report", *extra]
    done = run_in_repo(command, env)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Served:
    from saas_lifecycle.generate import generate

    work = tmp_path_factory.mktemp("serving")
    generate(work / "raw", **TINY)
    database = work / "warehouse" / "lifecycle.duckdb"
    code, out, err = lifecycle_run(work / "raw", database, work, "--vars", TINY_VARS)
    assert code == 0, out[-4000:] + err[-4000:]
    return Served(work / "raw", database, work)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def marts_snapshot(database: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(database), read_only=True) as con:
        names = [n for (n,) in con.execute(TABLES_SQL, [settings.MARTS_SCHEMA]).fetchall()]
        return {
            n: sorted(con.execute(f"select * from marts.{n}").fetchall(), key=repr) for n in names
        }


TABLES_SQL = (
    "select table_name from information_schema.tables where table_catalog = current_database()"
    " and table_schema = ? order by table_name"
)


# ---------------------------------------------------------------------------- the served file


@pytest.mark.e2e
def test_served_file_holds_only_described_marts_and_monitoring(served: Served) -> None:
    with duckdb.connect(str(served.database), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name, comment from duckdb_tables()"
            " where database_name = current_database()"
        ).fetchall()
        views = con.execute(
            "select schema_name, view_name from duckdb_views()"
            " where database_name = current_database() and not internal"
        ).fetchall()
        undescribed = con.execute(
            "select schema_name || '.' || table_name || '.' || column_name from duckdb_columns()"
            " where database_name = current_database() and comment is null"
        ).fetchall()
        status = con.execute(
            "select distinct status, run_id from monitoring.mart_status"
        ).fetchall()
    assert {schema for schema, _, _ in tables} == {"marts", "monitoring"}
    assert views == []  # nothing served reads raw files (staging were views over them)
    assert [(s, t) for s, t, comment in tables if not comment] == []
    assert undescribed == []
    marts = {t for s, t, _ in tables if s == "marts"}
    assert len(marts) >= 20
    assert {"mart_status", "quarantine_summary", "run_history", "build_context"} <= {
        t for s, t, _ in tables if s == "monitoring"
    }
    assert len(status) == 1 and status[0][0] == "fresh"
    # The build state is another file: staging and quarantine live there, not here.
    with duckdb.connect(str(served.warehouse.state), read_only=True) as con:
        state_schemas = {
            s for (s,) in con.execute("select schema_name from duckdb_tables()").fetchall()
        }
    assert {"staging", "quarantine", "intermediate", "marts"} <= state_schemas


def raw_emails(raw: Path) -> list[str]:
    """Every raw string value that holds an '@' (users.email, and any other)."""
    found: set[str] = set()
    for table in sorted(p for p in raw.iterdir() if p.is_dir()):
        data = ds.dataset(table, format="parquet", partitioning="hive").to_table()
        for column in data.columns:
            if str(column.type) in ("string", "large_string"):
                found |= {v for v in column.to_pylist() if v and "@" in v}
    return sorted(found)


def email_hits(con: duckdb.DuckDBPyConnection, relations: list[str]) -> dict[str, int]:
    """relation.column -> rows whose text contains a raw e-mail (case-insensitive)."""
    hits: dict[str, int] = {}
    for relation in relations:
        columns = con.execute(f"select * from {relation} limit 0").description
        for column, type_code, *_ in columns:
            if str(type_code) != "VARCHAR":
                continue
            (count,) = con.execute(
                f"select count(*) from {relation} as t, raw_emails as e"
                f' where contains(lower(t."{column}"), lower(e.email))'
            ).fetchone()
            if count:
                hits[f"{relation}.{column}"] = count
    return hits


@pytest.mark.e2e
def test_nothing_served_holds_a_raw_email(served: Served) -> None:
    emails = raw_emails(served.raw)
    assert len(emails) >= TINY["users"] // 2

    def search(database: Path, parquet: Path | None = None) -> dict[str, int]:
        with duckdb.connect(str(database), read_only=True) as con:
            con.execute("create temp table raw_emails (email varchar)")
            con.executemany("insert into raw_emails values (?)", [(e,) for e in emails])
            relations = [
                f'"{s}"."{t}"'
                for s, t in con.execute(
                    "select schema_name, table_name from duckdb_tables()"
                    " where database_name = current_database() union all"
                    " select schema_name, view_name from duckdb_views()"
                    " where database_name = current_database() and not internal"
                ).fetchall()
            ]
            if parquet is not None:
                relations = [
                    f"read_parquet('{folder}/*.parquet')"
                    for folder in sorted(p for p in parquet.iterdir() if p.is_dir())
                ]
            return email_hits(con, relations)

    # The search finds them where they are (the state's staging views over the raw users),
    # so it can fail.
    assert search(served.warehouse.state)
    assert search(served.database) == {}
    current = served.warehouse.parquet / "current"
    assert len([p for p in current.iterdir() if p.is_dir()]) >= 20
    assert search(served.database, current) == {}


# ---------------------------------------------------------------------------- Parquet


@pytest.mark.e2e
def test_parquet_marts_equal_the_served_marts_and_their_manifest(served: Served) -> None:
    current = served.warehouse.parquet / "current"
    assert current.is_symlink()
    manifest = json.loads((current / "manifest.json").read_text())
    with duckdb.connect(str(served.database), read_only=True) as con:
        run_id, as_of = con.execute(
            "select run_id, as_of_date from monitoring.build_context"
        ).fetchone()
        marts = [n for (n,) in con.execute(TABLES_SQL, [settings.MARTS_SCHEMA]).fetchall()]
        assert manifest["run_id"] == run_id and manifest["as_of_date"] == as_of.isoformat()
        assert sorted(manifest["marts"]) == marts
        for mart in marts:
            table = pq.read_table(current / mart)  # pyarrow reads the folder
            (rows,) = con.execute(f"select count(*) from marts.{mart}").fetchone()
            assert table.num_rows == rows == manifest["marts"][mart]["rows"], mart
            served_columns = [
                d[0] for d in con.execute(f"select * from marts.{mart} limit 0").description
            ]
            assert table.column_names == served_columns, mart
            folder = f"read_parquet('{current / mart}/*.parquet')"
            (differ,) = con.execute(
                f"select count(*) from ((select * from {folder} except all select * from"
                f" marts.{mart}) union all (select * from marts.{mart} except all"
                f" select * from {folder}))"
            ).fetchone()
            assert differ == 0, mart


@pytest.mark.e2e
def test_a_duckdb_1_client_reads_the_parquet_marts(served: Served) -> None:
    assert DUCKDB1_PYTHON.exists(), "no .venv-duckdb1: run scripts/bootstrap.sh"
    current = served.warehouse.parquet / "current"
    script = (
        "import duckdb, json, sys\n"
        "current = sys.argv[1]\n"
        "manifest = json.load(open(current + '/manifest.json'))\n"
        "con = duckdb.connect()\n"
        "def rows(m):\n"
        "    sql = f\"select count(*) from read_parquet('{current}/{m}/*.parquet')\"\n"
        "    return con.execute(sql).fetchone()[0]\n"
        "counts = {m: rows(m) for m in manifest['marts']}\n"
        "sums = con.execute(f\"select sum(dau), max(date) from read_parquet('{current}/"
        "active_users_daily/*.parquet')\").fetchone()\n"
        "print(json.dumps({'version': duckdb.__version__, 'counts': counts,"
        " 'dau': [int(sums[0]), str(sums[1])]}))\n"
    )
    done = run_in_repo([str(DUCKDB1_PYTHON), "-c", script, str(current)])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["version"].startswith("1.")
    manifest = json.loads((current / "manifest.json").read_text())
    assert result["counts"] == {m: v["rows"] for m, v in manifest["marts"].items()}
    with duckdb.connect(str(served.database), read_only=True) as con:
        total, latest = con.execute(
            "select sum(dau), max(date) from marts.active_users_daily"
        ).fetchone()
    assert result["dau"] == [int(total), str(latest)]


# ---------------------------------------------------------------------------- plain dbt


@pytest.mark.e2e
def test_plain_dbt_builds_the_dev_database_and_leaves_the_served_one_alone(
    served: Served, tmp_path: Path
) -> None:
    before = {path: digest(path) for path in (served.database, served.warehouse.state)}
    dev = tmp_path / "dev.duckdb"
    env = {
        **{k: v for k, v in os.environ.items() if k != settings.ENV_TARGET},
        # Even pointed at the served file, the repository's profile never writes it.
        settings.ENV_DATABASE: str(served.database),
        "LIFECYCLE_DEV_DUCKDB_PATH": str(dev),
        settings.ENV_RAW_DIR: str(served.raw),
        settings.ENV_DUCKDB_TEMP_DIR: str(tmp_path / "duckdb_tmp"),
    }
    env.pop(settings.ENV_STATE_DATABASE, None)
    dbt = str(Path(sys.executable).with_name("dbt"))
    args = ["run", "--select", "+stg_app__user_versions", "--target-path", str(tmp_path / "target")]
    done = run_in_repo([dbt, *args, "--log-path", str(tmp_path / "logs")], env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with duckdb.connect(str(dev), read_only=True) as con:
        (users,) = con.execute("select count(*) from staging.stg_app__user_versions").fetchone()
    assert users > 0
    assert {path: digest(path) for path in before} == before


# ---------------------------------------------------------------------------- held back


def test_gates_stop_only_when_every_mart_is_held_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    manifest = {
        "nodes": {
            f"model.p.{n}": {"resource_type": "model", "schema": "marts", "name": n, "alias": n}
            for n in ("dau", "mrr")
        }
    }
    monkeypatch.setattr(runner, "load_manifest", lambda: manifest)
    failing = LayerValidation(
        "staging", [ExpectationOutcome("staging", "tickets.share", "error", False, "0.3")]
    )
    monkeypatch.setattr(runner, "held_back_marts", lambda v, m: {"mrr": "staging.tickets.share"})
    gates = runner.Gates(Warehouse(tmp_path / "w.duckdb"))
    gates.check(failing)  # one mart held back: the run goes on to publish the other
    assert gates.held_back == {"mrr": "staging.tickets.share"} and gates.status == "held_back"

    # A failure that names no relation may concern anything: every mart, so the run stops.
    monkeypatch.setattr(runner, "held_back_marts", impact.held_back_marts)
    with pytest.raises(runner.RunError, match="staging validation: 1 blocking expectation"):
        runner.Gates(Warehouse(tmp_path / "w.duckdb")).check(failing)


@pytest.mark.e2e
def test_publish_keeps_held_back_marts_and_switches_parquet_atomically(
    served: Served, tmp_path: Path
) -> None:
    copy = served.copy_to(tmp_path / "wh")
    before = marts_snapshot(copy.published)
    # The next build of the state differs in two marts; one of them is held back.
    with duckdb.connect(str(copy.state)) as con:
        con.execute("delete from marts.dim_users")
        con.execute("delete from marts.nps_monthly")
    with duckdb.connect(str(copy.published), read_only=True) as con:
        first_run, first_at = con.execute(
            "select run_id, published_at from monitoring.build_context"
        ).fetchone()
    first_folder = (served.warehouse.parquet / "current").resolve()
    shutil.copytree(served.warehouse.parquet, copy.parquet, symlinks=True)
    reader = duckdb.connect(str(copy.published), read_only=True)  # a BI reader, open
    try:
        result = publish(
            copy, "run-2", {"dim_users": "staging.users.quarantined_share"}, {"x": "1"}
        )
        # The open reader keeps the whole old file.
        (rows,) = reader.execute("select count(*) from marts.nps_monthly").fetchone()
        assert rows == len(before["nps_monthly"]) > 0
    finally:
        reader.close()
    after = marts_snapshot(copy.published)
    assert after["dim_users"] == before["dim_users"] != []  # kept its served version
    assert after["nps_monthly"] == []  # fresh
    assert {k: v for k, v in after.items() if k not in {"nps_monthly"}} == {
        k: v for k, v in before.items() if k not in {"nps_monthly"}
    }
    with duckdb.connect(str(copy.published), read_only=True) as con:
        status = {
            mart: rest
            for mart, *rest in con.execute(
                "select mart, status, held_back_by, run_id, published_at"
                " from monitoring.mart_status"
            ).fetchall()
        }
    assert status["dim_users"] == [
        "held_back",
        "staging.users.quarantined_share",
        first_run,
        first_at,
    ]
    assert status["nps_monthly"][:3] == ["fresh", None, "run-2"]
    assert result.held_back == {"dim_users": "staging.users.quarantined_share"}

    current = copy.parquet / "current"
    assert current.resolve() == copy.parquet / "runs" / "run-2"
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["marts"]["dim_users"]["status"] == "held_back"
    assert manifest["marts"]["dim_users"]["rows"] == len(before["dim_users"])
    assert manifest["marts"]["nps_monthly"]["rows"] == 0
    # The previous set stays for readers that resolved `current` before the switch.
    assert (copy.parquet / "runs" / first_folder.name / "manifest.json").is_file()
    # A held-back publish does not vouch for the state: the next run rebuilds in full.
    recorded = read_build_settings(copy.state)
    assert recorded is not None and recorded[BUILD_STATUS] != PUBLISHED
    assert runner.needs_full_refresh(copy.state, {"x": "1"}) is not None


# ---------------------------------------------------------------------------- failed runs


@pytest.mark.e2e
def test_a_failed_run_serves_nothing_and_the_next_run_rebuilds_in_full(
    served: Served, tmp_path: Path
) -> None:
    copy = served.copy_to(tmp_path / "wh")
    shutil.copytree(served.warehouse.parquet, copy.parquet, symlinks=True)
    served_digest, current = digest(copy.published), (copy.parquet / "current").resolve()

    # Refused before dbt: a slot suffix would build schemas the publish does not read.
    code, out, err = lifecycle_run(
        served.raw, copy.published, tmp_path, "--vars", "{build_schema_suffix: _x}"
    )
    assert code == 2 and "build_schema_suffix" in err.strip().splitlines()[-1], out + err
    assert "dbt build" not in out

    # Fails at the staging gate after dbt wrote the state.
    code, out, err = lifecycle_run(
        served.raw, copy.published, tmp_path, "--vars", "{quarantine_max_share: 0}"
    )
    assert code == 1, out + err
    assert err.strip().splitlines()[-1].startswith("lifecycle run failed: staging validation")
    assert digest(copy.published) == served_digest
    assert (copy.parquet / "current").resolve() == current
    recorded = read_build_settings(copy.state)
    assert recorded is not None and recorded[BUILD_STATUS].startswith("building ")

    code, out, err = lifecycle_run(served.raw, copy.published, tmp_path, "--vars", TINY_VARS)
    assert code == 0, out[-3000:] + err[-3000:]
    assert "full refresh of the incremental models: the state holds a build that was not" in out
    assert marts_snapshot(copy.published) == marts_snapshot(served.database)
    with duckdb.connect(str(copy.published), read_only=True) as con:
        history = con.execute("select status from monitoring.run_history").fetchall()
    assert ("failed",) in history
