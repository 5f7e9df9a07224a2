"""The Jinja2 templates of the letters and the HTML reports (packaged under reports/templates), and the
provenance every report carries: rule version, data cut-off, gate run and when it was made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import jinja2
from psycopg import sql

from socmon.period import MOSCOW
from socmon.reports import labels_ru
from socmon.warehouse import server


@dataclass(frozen=True)
class Provenance:
    rule_version: str
    data_cutoff: datetime | None  # the latest loaded_at behind the marts
    gate_run: str
    made_at: datetime


def _moscow(moment: datetime | None) -> str:
    return labels_ru.moscow_text(moment)


def _pct(value: float | None) -> str:
    return labels_ru.decimal_text(value, "%")


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("socmon.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["moscow"] = _moscow
    env.filters["pct"] = _pct
    env.filters["decimal"] = labels_ru.decimal_text
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)


def current_provenance(schema: str = "marts") -> Provenance:
    """Read from the warehouse at the moment a report is made."""
    with server.connect("officer") as conn:
        rule_version = conn.execute(
            sql.SQL("select string_agg(distinct rule_version, ', ') from {}").format(
                sql.Identifier(schema, "fct_incidents")
            )
        ).fetchall()[0][0]
        cutoff = conn.execute(
            sql.SQL("select max(loaded_at) from {}").format(sql.Identifier(schema, "fct_messages_classified"))
        ).fetchall()[0][0]
        gate = None
        if conn.execute("select to_regclass('ops.gate_runs') is not null").fetchall()[0][0]:
            gate = conn.execute(
                "select run_at, success, expectations, tables from ops.gate_runs"
                " where schema_name = %s order by run_at desc limit 1",
                [schema],
            ).fetchone()
    return Provenance(
        rule_version=rule_version or labels_ru.UNKNOWN,
        data_cutoff=cutoff,
        gate_run=_gate_text(gate),
        made_at=datetime.now(MOSCOW),
    )


def _gate_text(gate: tuple | None) -> str:
    if gate is None:
        return "не запускалась"
    run_at, success, expectations, tables = gate
    verdict = "пройдена" if success else "не пройдена"
    return f"{verdict} {labels_ru.moscow_text(run_at)} МСК ({expectations} проверок, {tables} таблиц)"
