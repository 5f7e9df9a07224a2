"""Exports safe to open: a citizen's text that starts like a formula stays text.

Excel and LibreOffice evaluate a CSV field that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
(CSV injection), and openpyxl writes a string that starts with `=` as a formula. The officers' lists quote
citizens' messages, so every such cell is written as text: in CSV behind an apostrophe (the convention
that spreadsheets show as text), in XLSX as a string cell with Excel's quote prefix, which also keeps it
text when an officer edits the cell.
"""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_text(value: str) -> str:
    """`value` as a CSV field that a spreadsheet shows as text."""
    return f"'{value}" if looks_like_formula(value) else value


def keep_formulas_as_text(workbook: Workbook) -> None:
    """Every string cell of `workbook` that starts like a formula becomes a text cell."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if looks_like_formula(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True
