"""The quality gate behind `socmon validate` and in front of every export.

Runs each suite registered in `expectations/` on its table with an ephemeral GX context, records the
outcome in ops.gate_runs, and says in one line per failure what is wrong. Asked about a period (as
every export does), it also runs each suite's checks of that period's rows, and refuses marts that were
not built after the period ended (quality/freshness.py); its result then names the period.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote

from socmon.config import settings
from socmon.period import ReportPeriod
from socmon.quality.audit import record_gate_run
from socmon.quality.freshness import freshness_failures
from socmon.quality.result import GateFailed, GateResult, describe_failure
from socmon.quality.suites import load_registry
from socmon.warehouse import server

__all__ = ["GateFailed", "GateResult", "run_gate"]

log = logging.getLogger(__name__)

READER_ROLE = "officer"  # the gate reads, and records its runs, as the officers' role: no other password

DATA_SOURCE = "warehouse"
CHECKPOINT = "socmon_gate"
# COMPLETE: a failed query of unexpected rows shows its rows (SUMMARY gives only their count)
RESULT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": 20}

Target = tuple[Any, str]  # (expectations.SuiteEntry, schema)


def run_gate(
    schema: str = "marts", period: ReportPeriod | None = None, whole_table_tests: bool = False
) -> GateResult:
    """Validate every registered table in `schema` (entries may name their own schema).

    With a period: also the checks of that period's rows, and the freshness of the marts for it. With
    whole_table_tests (the scheduled publications): also dbt's data tests tagged `daily`, which the
    10-minute cycles leave out.
    """
    started = time.monotonic()
    _quiet_great_expectations()
    registry = load_registry()
    targets: list[Target] = [(entry, _schema_of(entry, schema)) for entry in registry.SUITES]
    missing = [target for target in targets if not _table_exists(*_qualified(target))]
    failures = []
    if period is not None:
        failures.extend(freshness_failures(period, settings().extraction_lag))
    if whole_table_tests:
        failures.extend(_daily_dbt_tests())
    failures.extend(
        f"{entry.table}: table {table_schema}.{entry.table} is missing (has `socmon transform` run?)"
        for entry, table_schema in missing
    )
    present = [target for target in targets if target not in missing]
    evaluated = 0
    if present:
        evaluated, suite_failures = _validate(present, period)
        failures.extend(suite_failures)
    result = GateResult(
        success=not failures,
        failures=failures,
        expectations=evaluated,
        tables=len(present),
        period=f"{period.kind} {period.key}" if period else None,
        quarantined=_quarantined(period),
    )
    record_gate_run(result, schema)
    elapsed = time.monotonic() - started
    if result.success:
        log.info("%s (%.1f s)", result.summary(), elapsed)
    else:
        log.warning("gate failed, %d problems (%.1f s):", len(failures), elapsed)
        for failure in failures:
            log.warning("  %s", failure)
    return result


def _daily_dbt_tests() -> list[str]:
    """dbt's whole-table data tests (tag `daily`); one line when any fails (dbt's log names them)."""
    from socmon.transform import run_daily_tests

    try:
        run_daily_tests()
    except RuntimeError as failed:
        return [f"dbt data tests: {failed}"]
    return []


def _schema_of(entry: Any, schema: str) -> str:
    from socmon.warehouse.roles import casework_schema

    if entry.schema:
        return entry.schema
    return casework_schema(schema) if getattr(entry, "casework", False) else schema


def _quarantined(period: ReportPeriod | None) -> dict[str, int]:
    """Records quarantined by the loader and by staging (since the period's start, when there is one):
    their counts only, which the officers' role reads through ops.quarantined_counts()."""
    with server.connect(READER_ROLE) as conn:
        counts = conn.execute(
            "select stage, records from ops.quarantined_counts(%s)", [period.starts_at if period else None]
        ).fetchall()
    return {stage: records for stage, records in counts if records}


def _quiet_great_expectations() -> None:
    """None of GX's chatter at INFO (it logs every decorated function on import). This GX sends no
    analytics (its build has no analytics module), so nothing is set for GX_ANALYTICS_ENABLED."""
    gx_logger = logging.getLogger("great_expectations")
    if gx_logger.level == logging.NOTSET:  # leave a level someone chose on purpose
        gx_logger.setLevel(logging.WARNING)


def _qualified(target: Target) -> tuple[str, str]:
    entry, table_schema = target
    return table_schema, entry.table


def _table_exists(schema: str, table: str) -> bool:
    with server.connect(READER_ROLE) as conn:
        row = conn.execute(
            "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
            [schema, table],
        ).fetchone()
    return row is not None


def _connection_string(schema: str) -> str:
    """The officers' role's URL (it reads casework, the marts and the seeds, and writes nothing) with
    `schema` as the search path (GX 1.x wants the schema in the connection)."""
    return f"{server.url(READER_ROLE)}?options={quote(f'-csearch_path={schema}')}"


def _validate(targets: list[Target], period: ReportPeriod | None) -> tuple[int, list[str]]:
    """Run the suites in one checkpoint; return how many expectations ran and the failure lines.

    An entry's period suite (`build_period_suite`, optional) runs beside its whole-table suite.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    sources: dict[str, Any] = {}
    definitions = []
    for entry, table_schema in targets:
        if table_schema not in sources:
            sources[table_schema] = context.data_sources.add_postgres(
                f"{DATA_SOURCE}_{table_schema}", connection_string=_connection_string(table_schema)
            )
        asset = sources[table_schema].add_table_asset(
            name=f"{table_schema}.{entry.table}", table_name=entry.table
        )
        batch = asset.add_batch_definition_whole_table("whole_table")
        suites = [entry.build_suite()]
        if period is not None and getattr(entry, "build_period_suite", None):
            suites.append(entry.build_period_suite(period))
        for built in suites:
            suite = context.suites.add(built)
            definition = gx.ValidationDefinition(name=suite.name, data=batch, suite=suite)
            definitions.append(context.validation_definitions.add(definition))
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(name=CHECKPOINT, validation_definitions=definitions, result_format=RESULT_FORMAT)
    )
    try:
        outcome = checkpoint.run()
    finally:  # GX keeps a pool of connections per source: the officers' role has a connection limit
        for source in sources.values():
            source.get_engine().dispose()

    evaluated, failures = 0, []
    for suite_result in outcome.run_results.values():
        for expectation in suite_result.results:
            evaluated += 1
            if expectation.success:
                continue
            config = expectation.expectation_config
            kind, kwargs = (config.type, config.kwargs) if config else ("unknown_expectation", {})
            description = config.description if config else None
            failures.append(describe_failure(suite_result.suite_name, kind, kwargs, expectation, description))
    return evaluated, failures
