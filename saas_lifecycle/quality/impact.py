"""Which marts a run's blocking failures hold back, from the dbt manifest's lineage.

A blocking outcome names the relation it judges (ExpectationOutcome.relation): a raw table
(a dbt source's table name, e.g. `support_tickets`) or a dbt model (e.g.
`stg_product__tracks`, `active_users_daily`). Every mart downstream of it in the manifest's
`child_map`, the relation itself included when it is a mart, keeps its last good version;
the other marts publish. A failure whose relation is unknown (empty, or in no node of the
manifest) may concern anything, so it holds back every mart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from saas_lifecycle import settings
from saas_lifecycle.quality import ExpectationOutcome, LayerValidation


def mart_names(manifest: Mapping[str, Any]) -> dict[str, str]:
    """unique_id -> model name, for every model built in schema `marts`."""
    marts: dict[str, str] = {}
    for unique_id, node in (manifest.get("nodes") or {}).items():
        if node.get("resource_type") != "model":
            continue
        config = node.get("config") or {}
        if config.get("schema") == settings.MARTS_SCHEMA or node.get("schema") == (
            settings.MARTS_SCHEMA
        ):
            marts[unique_id] = node["name"]
    return marts


def relation_nodes(manifest: Mapping[str, Any], relation: str, layer: str) -> list[str]:
    """The manifest nodes a relation name stands for: models of that name, and sources whose
    table is that name (raw-layer outcomes look at sources first; a raw table and a model
    never share a name in this project, the order only settles a tie)."""
    if not relation:
        return []
    models = [
        uid
        for uid, node in (manifest.get("nodes") or {}).items()
        if node.get("resource_type") in ("model", "seed", "snapshot")
        and relation in (node.get("name"), node.get("alias"))
    ]
    sources = [
        uid
        for uid, node in (manifest.get("sources") or {}).items()
        if relation in (node.get("name"), node.get("identifier"))
    ]
    return sources or models if layer == "raw" else models or sources


def downstream(child_map: Mapping[str, Sequence[str]], starts: Iterable[str]) -> set[str]:
    """Every node reachable from `starts` in the child map, the starts included."""
    seen: set[str] = set()
    stack = list(starts)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(child_map.get(node, ()))
    return seen


def held_back_marts(
    validations: Sequence[LayerValidation], manifest: Mapping[str, Any]
) -> dict[str, str]:
    """Mart name -> the name of the first blocking expectation that holds it back.

    Blocking outcomes are taken in the order of the validations (raw, staging, marts) and
    of their suites; marts no blocking failure reaches are absent from the result.
    """
    marts = mart_names(manifest)
    child_map: Mapping[str, Sequence[str]] = manifest.get("child_map") or {}
    held: dict[str, str] = {}
    for outcome in _blocking(validations):
        starts = relation_nodes(manifest, outcome.relation, outcome.layer)
        reached = set(marts) if not starts else downstream(child_map, starts) & set(marts)
        for unique_id in sorted(reached, key=lambda uid: marts[uid]):
            held.setdefault(marts[unique_id], outcome.expectation)
    return held


def _blocking(validations: Sequence[LayerValidation]) -> list[ExpectationOutcome]:
    return [o for v in validations for o in v.blocking_failures]
