"""The dbt sources document exactly the raw contract that the Python side enforces."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from saas_lifecycle.contract import RAW_TABLES

ROOT = Path(__file__).resolve().parents[1]

DUCKDB_TYPES = {
    pa.string(): "varchar",
    pa.int64(): "bigint",
}


def _duckdb_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz"
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision}, {arrow_type.scale})"
    return DUCKDB_TYPES[arrow_type]


def _source_tables() -> dict[str, dict]:
    tables: dict[str, dict] = {}
    for path in sorted((ROOT / "models" / "staging").glob("*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                tables[table["name"]] = {"source": source["name"], **table}
    return tables


def test_every_contract_table_is_a_source() -> None:
    assert set(_source_tables()) == set(RAW_TABLES)


@pytest.mark.parametrize("table_name", sorted(RAW_TABLES))
def test_source_columns_match_the_contract(table_name: str) -> None:
    contract = RAW_TABLES[table_name]
    source = _source_tables()[table_name]
    assert source["source"] == contract.source
    documented = [(c["name"], c["data_type"]) for c in source["columns"]]
    expected = [(c.name, _duckdb_type(c.arrow_type)) for c in contract.columns]
    assert documented == expected
    assert all(c.get("description") for c in source["columns"])
