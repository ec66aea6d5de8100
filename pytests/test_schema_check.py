"""The raw schema check: contract columns and type families, per file, from footers only."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from saas_lifecycle.contract import OPTIONAL_TABLES, RAW_TABLES, REQUIRED_TABLES
from saas_lifecycle.schema_check import SchemaError, check_raw_schema


def write_table(
    raw_dir: Path,
    name: str,
    schema: pa.Schema | None = None,
    relative: str = "part-0.parquet",
) -> Path:
    """Write an empty Parquet file of a raw table (contract schema unless one is given)."""
    schema = schema if schema is not None else RAW_TABLES[name].arrow_schema()
    path = raw_dir / name / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(schema.empty_table(), path)
    return path


def write_raw(raw_dir: Path, tables: Iterable[str] = REQUIRED_TABLES) -> Path:
    """A raw dir with one valid empty file per named table."""
    for name in tables:
        write_table(raw_dir, name)
    return raw_dir


def altered(name: str, column: str, arrow_type: pa.DataType | None) -> pa.Schema:
    """The contract schema of a table with one column retyped, or dropped when type is None."""
    schema = RAW_TABLES[name].arrow_schema()
    index = schema.get_field_index(column)
    if arrow_type is None:
        return schema.remove(index)
    return schema.set(index, pa.field(column, arrow_type))


def test_valid_raw_dir_reports_absent_optional_tables(tmp_path: Path) -> None:
    report = check_raw_schema(write_raw(tmp_path))
    assert report.files == {name: 1 for name in REQUIRED_TABLES}
    assert report.absent_optional == OPTIONAL_TABLES
    assert report.notices[0] == (
        f"optional raw table '{OPTIONAL_TABLES[0]}' is absent: marts that need it are built empty"
    )


def test_all_tables_and_hive_partitions(tmp_path: Path) -> None:
    write_raw(tmp_path, RAW_TABLES)
    write_table(tmp_path, "tracks", relative="received_date=2025-01-02/part-0.parquet")
    report = check_raw_schema(tmp_path)
    assert report.absent_optional == []
    assert report.files["tracks"] == 2


def test_missing_column_names_table_column_and_file(tmp_path: Path) -> None:
    write_raw(tmp_path)
    bad = write_table(
        tmp_path,
        "tracks",
        altered("tracks", "event_id", None),
        relative="received_date=2025-01-01/part-0.parquet",
    )
    with pytest.raises(SchemaError) as excinfo:
        check_raw_schema(tmp_path)
    message = str(excinfo.value)
    assert message.startswith("raw table 'tracks' is missing column 'event_id' (")
    assert str(bad.relative_to(tmp_path)) in message
    assert "\n" not in message


def test_wrong_type_names_table_column_and_types(tmp_path: Path) -> None:
    write_raw(tmp_path)
    write_table(tmp_path, "users", altered("users", "user_id", pa.int64()))
    with pytest.raises(
        SchemaError,
        match=r"raw table 'users' column 'user_id' has type int64, "
        r"expected string",
    ):
        check_raw_schema(tmp_path)


def test_money_must_be_decimal(tmp_path: Path) -> None:
    write_raw(tmp_path)
    write_table(tmp_path, "billing_events", altered("billing_events", "mrr_amount", pa.float64()))
    with pytest.raises(SchemaError, match=r"'mrr_amount' has type double, expected decimal"):
        check_raw_schema(tmp_path)


def test_timestamp_in_other_zone_is_rejected(tmp_path: Path) -> None:
    write_raw(tmp_path)
    paris = pa.timestamp("us", tz="Europe/Paris")
    write_table(tmp_path, "accounts", altered("accounts", "created_at", paris))
    with pytest.raises(SchemaError, match=r"expected timestamp \(UTC or no time zone\)"):
        check_raw_schema(tmp_path)


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC"])
def test_nanoseconds_with_a_time_zone_are_refused_with_the_fix(tmp_path: Path, zone: str) -> None:
    write_raw(tmp_path)
    ns = pa.timestamp("ns", tz=zone)
    write_table(tmp_path, "tracks", altered("tracks", "occurred_at", ns))
    with pytest.raises(SchemaError) as raised:
        check_raw_schema(tmp_path)
    message = str(raised.value)
    assert f"'tracks' column 'occurred_at' has type timestamp[ns, tz={zone}]" in message
    assert "coerce_timestamps='us'" in message and "\n" not in message


@pytest.mark.parametrize(
    ("table", "column", "arrow_type"),
    [
        ("tracks", "occurred_at", pa.timestamp("us")),  # naive: read as UTC
        ("tracks", "received_at", pa.timestamp("ms", tz="UTC")),  # any unit
        ("tracks", "received_at", pa.timestamp("s", tz="UTC")),
        ("tracks", "occurred_at", pa.timestamp("ns")),  # nanoseconds without a zone
        ("tracks", "occurred_at", pa.timestamp("ms")),
        ("accounts", "company_size", pa.int32()),  # any integer
        ("tracks", "event_name", pa.large_string()),  # any string
        ("tracks", "platform", pa.dictionary(pa.int32(), pa.string())),
        ("billing_events", "mrr_amount", pa.decimal128(12, 4)),  # any decimal
    ],
)
def test_accepted_type_variants(
    tmp_path: Path, table: str, column: str, arrow_type: pa.DataType
) -> None:
    write_raw(tmp_path)
    write_table(tmp_path, table, altered(table, column, arrow_type))
    check_raw_schema(tmp_path)


def test_extra_column_is_fine(tmp_path: Path) -> None:
    write_raw(tmp_path)
    schema = RAW_TABLES["users"].arrow_schema().append(pa.field("plan_hint", pa.string()))
    write_table(tmp_path, "users", schema)
    check_raw_schema(tmp_path)


def test_rows_with_values_pass(tmp_path: Path) -> None:
    write_raw(tmp_path)
    schema = RAW_TABLES["accounts"].arrow_schema()
    row = {
        "account_id": "a1",
        "account_name": "Acme",
        "company_size": 12,
        "industry": None,
        "created_at": pa.scalar(0, pa.timestamp("us", tz="UTC")).as_py(),
        "updated_at": pa.scalar(0, pa.timestamp("us", tz="UTC")).as_py(),
    }
    pq.write_table(pa.Table.from_pylist([row], schema=schema), tmp_path / "accounts" / "p.parquet")
    assert check_raw_schema(tmp_path).files["accounts"] == 2


@pytest.mark.parametrize("how", ["no folder", "empty folder", "other files only"])
def test_missing_required_table(tmp_path: Path, how: str) -> None:
    write_raw(tmp_path, ["tracks", "accounts"])
    if how != "no folder":
        (tmp_path / "users").mkdir()
    if how == "other files only":
        (tmp_path / "users" / "users.csv").write_text("user_id\n")
    with pytest.raises(SchemaError, match=r"required raw table 'users' is absent"):
        check_raw_schema(tmp_path)


def test_empty_optional_folder_counts_as_absent(tmp_path: Path) -> None:
    write_raw(tmp_path)
    (tmp_path / "email_events").mkdir()
    assert "email_events" in check_raw_schema(tmp_path).absent_optional


def test_corrupt_file_names_file(tmp_path: Path) -> None:
    write_raw(tmp_path)
    corrupt = tmp_path / "tracks" / "part-1.parquet"
    corrupt.write_bytes(b"this is not parquet at all")
    with pytest.raises(SchemaError, match=r"not readable Parquet") as excinfo:
        check_raw_schema(tmp_path)
    assert "part-1.parquet" in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_missing_raw_dir(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"raw data directory does not exist"):
        check_raw_schema(tmp_path / "nowhere")
