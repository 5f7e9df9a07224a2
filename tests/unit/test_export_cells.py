"""Exports safe to open: whatever starts like a formula is written as text in the CSV and the XLSX."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import openpyxl

from socmon.period import MOSCOW, report_period
from socmon.reports.csv_file import write_incidents_csv
from socmon.reports.model import Incident, Report
from socmon.reports.xlsx import write_workbook

MOMENT = datetime(2026, 3, 17, 9, 0, tzinfo=MOSCOW)
FORMULAS = ('=HYPERLINK("http://evil.example","Открыть")', "+7 (900) 000-00-00", "-1+1", "@SUM(A1)", "\tтаб")


def _report(names: tuple[str, ...]) -> Report:
    return Report(
        report_period("day", MOMENT.date()), tuple(_incident(n, name) for n, name in enumerate(names)), MOMENT
    )


def _incident(n: int, name: str) -> Incident:
    return Incident(
        incident_id=str(n), platform="vk", message_url=f"https://vk.com/wall-1_{n}",
        source_message_key=f"vk:wall-1_{n}", category_code="roads", category_name=name,
        body_code="b", body_name="Министерство транспорта", municipality_code=None,
        municipality_name=name, importance="normal", published_at=MOMENT, detected_at=MOMENT,
        deadline_at=MOMENT, first_answer_at=None, final_answer_at=None, sla_status="open",
        rule_version="v1",
    )  # fmt: skip


def test_a_csv_field_that_starts_like_a_formula_is_text(tmp_path: Path):
    path = tmp_path / "incidents.csv"
    write_incidents_csv(_report((*FORMULAS, "Дороги")), path)

    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))[1:]
    categories = [row[2] for row in rows]
    assert categories == [f"'{text}" for text in FORMULAS] + ["Дороги"]


def test_an_xlsx_cell_that_starts_like_a_formula_is_a_text_cell(tmp_path: Path):
    path = tmp_path / "incidents.xlsx"
    write_workbook(_report(FORMULAS), path)

    workbook = openpyxl.load_workbook(path)
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    risky = [cell for cell in cells if isinstance(cell.value, str) and cell.value.startswith(FORMULAS[0])]
    assert risky, "the formula-like text is in the workbook, as it was written"
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in risky)
