"""Great Expectations Data Docs (static HTML) for one run's validation results.

The process's ephemeral GX context (the one the validations used: no GX project files
anywhere, nothing to keep out of git) receives this run's suites and validation results,
and a local filesystem Data Docs site writes them to `out_dir`:

    out_dir/index.html                                   the run's overview, one row per spec
    out_dir/expectations/<layer>/<name...>.html          each spec's suite
    out_dir/validations/<layer>/<name...>/<run_id>/...   each spec's result on this run
    out_dir/static/                                      GX's styles, fonts and images

Building needs no network; the pages load some scripts and styles from public CDNs when
opened, so offline they render with less styling but the same content.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from saas_lifecycle.quality import LayerValidation
from saas_lifecycle.quality.validate import gx_context, gx_results

SITE = "lifecycle_run"


def _run_name(run_id: str) -> str:
    """A run id safe as one path segment of the site."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id) or "run"


def build_data_docs(validations: Sequence[LayerValidation], out_dir: Path, run_id: str) -> Path:
    """Write the Data Docs of these validations into out_dir; return its index.html."""
    # GX announces its temporary docs site at INFO on the root handler; keep the run's output ours.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    # The validations' own context (one per process: creating one costs ~0.5 s).
    context = gx_context()
    # Only this run's site: the default site of an ephemeral context is a temp folder.
    for name in list(context.list_data_docs_sites()):
        context.delete_data_docs_site(name)
    context.add_data_docs_site(
        SITE,
        {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(out_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    run = RunIdentifier(run_name=_run_name(run_id), run_time=datetime.now(UTC))
    for validation in validations:
        # Suite name -> "<reason> (<author>)" of the failures an operator acknowledged.
        acknowledged = {
            f"{o.layer}.{o.expectation}": o.acknowledged
            for o in validation.outcomes
            if o.acknowledged
        }
        for item in gx_results(validation):
            note = acknowledged.get(item.suite_name)
            suite = gx.ExpectationSuite(
                name=item.suite_name,
                expectations=[e.configuration.to_domain_obj() for e in item.suite.expectations],
                meta=dict(item.suite.meta or {}),
                notes=f"**Acknowledged failure** in run {run_id}: {note}" if note else None,
            )
            context.suites.add_or_update(suite)  # a process may write docs more than once
            result = item.result
            result.meta["run_id"] = run
            if note:  # shown under "Show more info..." of the validation page
                result.meta["batch_markers"] = {"acknowledged": note}
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=item.suite_name),
                run_id=run,
                batch_identifier=item.suite_name,
            )
            context.validation_results_store.set(key, result)
    urls = context.build_data_docs(site_names=[SITE])
    index = out_dir / "index.html"
    if not index.exists():  # pragma: no cover - GX wrote elsewhere
        raise RuntimeError(f"GX Data Docs did not write {index} (site urls: {urls})")
    return index
