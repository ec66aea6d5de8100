"""The Dagster code location of the nightly job (load it with
`dagster dev -m saas_lifecycle.orchestration.definitions`).

One asset per raw table, dbt seed and dbt model; the Great Expectations suites and the dbt
tests as asset checks, the blocking ones stopping everything downstream; a final asset that
publishes the build (write-audit-publish). Modules: `project` (the dbt project and its
manifest), `resources` (run configuration and the run's shared state), `checks` (Great
Expectations results as asset checks), `assets`, `definitions`.
"""
