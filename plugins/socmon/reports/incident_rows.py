"""The incident list as rows of cells, shared by the XLSX and CSV exports (headers in labels_ru)."""

from __future__ import annotations

from datetime import datetime

from socmon.period import MOSCOW
from socmon.reports import labels_ru
from socmon.reports.model import Incident

Cell = str | datetime | None

LINK_COLUMN = labels_ru.INCIDENT_HEADERS.index("Ссылка")


def moscow_wall_time(moment: datetime | None) -> datetime | None:
    """Moscow local time without tzinfo: what a spreadsheet cell can hold."""
    return moment.astimezone(MOSCOW).replace(tzinfo=None) if moment else None


def incident_cells(incident: Incident) -> list[Cell]:
    """One row in the order of labels_ru.INCIDENT_HEADERS; timestamps in Moscow wall time."""
    return [
        moscow_wall_time(incident.published_at),
        labels_ru.PLATFORM.get(incident.platform, incident.platform),
        incident.category_name,
        incident.body_name,
        incident.municipality_name,
        labels_ru.IMPORTANCE.get(incident.importance, incident.importance),
        moscow_wall_time(incident.deadline_at),
        moscow_wall_time(incident.first_answer_at),
        moscow_wall_time(incident.final_answer_at),
        labels_ru.STATUS.get(incident.sla_status, incident.sla_status),
        incident.message_url,
        incident.source_message_key,
    ]
