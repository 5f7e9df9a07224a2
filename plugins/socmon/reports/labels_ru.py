"""Every Russian word the exports show, in one place."""

from __future__ import annotations

from datetime import datetime

from socmon.reports.period import MOSCOW, ReportPeriod

REPORT_TITLE = "Инциденты в социальных сетях"
REPORT_SUBTITLE = "Сообщения граждан об исполнительных органах Краснодарского края"
NO_INCIDENTS = "Инцидентов за период нет"

SHEET_SUMMARY = "Сводка"
SHEET_INCIDENTS = "Инциденты"

BODY = "Ответственный орган"
TOTAL_ROW = "Итого"
UNKNOWN = "—"
UNKNOWN_BODY = "Орган не определён"

SUMMARY_HEADERS = (
    BODY,
    "Всего инцидентов",
    "Отвечено в срок",
    "Отвечено с опозданием",
    "Просрочено",
    "Открыто",
    "Доля ответов в срок, %",
    "Среднее время до первого ответа, ч",
)
SUMMARY_NOTES = (
    "Доля ответов в срок считается от инцидентов с известным исходом: открытые инциденты, "
    "срок ответа по которым ещё не истёк, в ней не учитываются.",
    "Время до первого ответа считается от публикации сообщения.",
    "Время московское.",
)

INCIDENT_HEADERS = (
    "Дата публикации (МСК)",
    "Платформа",
    "Категория",
    BODY,
    "Муниципалитет",
    "Важность",
    "Срок ответа",
    "Первый ответ",
    "Итоговый ответ",
    "Статус",
    "Ссылка",
    "Ключ сообщения",
)

STATUS = {
    "answered_on_time": "ответ в срок",
    "answered_late": "ответ с опозданием",
    "overdue": "просрочен",
    "open": "открыт",
}
STATUS_PLURAL = {
    "answered_on_time": "Отвечено в срок",
    "answered_late": "Отвечено с опозданием",
    "overdue": "Просрочено",
    "open": "Открыто",
}
PLATFORM = {"vk": "ВКонтакте", "ok": "Одноклассники", "telegram": "Telegram"}
IMPORTANCE = {"high": "высокая", "normal": "обычная"}

KEY_TOTAL = "Всего инцидентов"
KEY_ON_TIME_SHARE = "Доля ответов в срок"
KEY_AVERAGE_HOURS = "Среднее время до первого ответа"
HOURS_UNIT = "ч"
CHART_BY_BODY = "Инциденты по ответственным органам"
CHART_BY_CATEGORY = "Инциденты по категориям"
TABLE_BY_BODY = "Сводка по ответственным органам"
GENERATED_AT = "Сформировано"
RULE_VERSION = "Версия правил"
MOSCOW_TIME = "МСК"

DATETIME_FORMAT = "%d.%m.%Y %H:%M"
DATE_FORMAT = "%d.%m.%Y"
KRAI_SUFFIX = " Краснодарского края"


def period_title(period: ReportPeriod) -> str:
    """«за 15.03.2026» or «за неделю 2026-W11 (09.03.2026 – 15.03.2026)»."""
    if period.kind == "day":
        return f"за {period.first_day:{DATE_FORMAT}}"
    return f"за неделю {period.key} ({period.first_day:{DATE_FORMAT}} – {period.last_day:{DATE_FORMAT}})"


def moscow_text(moment: datetime | None) -> str:
    """A timestamp as Russian readers write it, in Moscow time; «—» when there is none."""
    return moment.astimezone(MOSCOW).strftime(DATETIME_FORMAT) if moment else UNKNOWN


def short_body_name(name: str) -> str:
    """The body's name without «Краснодарского края», for chart labels."""
    return name.removesuffix(KRAI_SUFFIX)


def decimal_text(value: float | None, unit: str = "") -> str:
    """«12,5» (a decimal comma), with an optional unit; «—» when there is no value."""
    if value is None:
        return UNKNOWN
    text = f"{value:.1f}".replace(".", ",")
    return f"{text} {unit}" if unit else text
