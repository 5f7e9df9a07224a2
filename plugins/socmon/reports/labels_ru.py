"""Every Russian word the exports show, in one place."""

from __future__ import annotations

from datetime import datetime

from socmon.period import MOSCOW, ReportPeriod

REPORT_TITLE = "Инциденты в социальных сетях"
REPORT_SUBTITLE = "Сообщения граждан об исполнительных органах Краснодарского края"
NO_INCIDENTS = "Инцидентов за период нет"

SHEET_SUMMARY = "Сводка"
SHEET_INCIDENTS = "Инциденты"
SHEET_ACCOUNTS = "Аккаунты"

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

ACCOUNTS_TITLE = "Официальные аккаунты органов: нарушения"
ACCOUNTS_AS_OF = "Состояние на"
ACCOUNTS_AS_OF_LATER = "более ранних данных о проверке аккаунтов нет"
NO_ACCOUNT_DATA = "Данных о проверке официальных аккаунтов нет"
NO_ACCOUNT_FAILURES = "Нарушений нет: все проверенные аккаунты соответствуют требованиям"
NO_ACCOUNT = "нет аккаунта"
ACCOUNT_HEADERS = (
    "Орган",
    "Сеть",
    "Аккаунт",
    "Код проверки",
    "Проверка",
    "Пояснение",
    "Оценка аккаунта, %",
    "Оценка органа, %",
)
ACCOUNT_NOTES = (
    "Показаны только нарушения: по каждому органу и сети — не пройденные проверки ACC-01…ACC-10.",
    "Оценка — доля пройденных проверок среди применимых; проверка, которую нельзя было выполнить "
    "из-за отсутствия данных, не считается пройденной.",
    "Пороги проверок настраиваются (переменные compliance_* проекта dbt).",
)
TABLE_ACCOUNTS = "Официальные аккаунты: нарушения по органам"
ACCOUNT_FAILED_CHECKS = "Нарушения"

DATETIME_FORMAT = "%d.%m.%Y %H:%M"
DATE_FORMAT = "%d.%m.%Y"
KRAI_SUFFIX = " Краснодарского края"


MONTHS = (
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
)


def period_title(period: ReportPeriod) -> str:
    """«за 15.03.2026», «за неделю 2026-W11 (09.03.2026 – 15.03.2026)» or «за март 2026»."""
    if period.kind == "day":
        return f"за {period.first_day:{DATE_FORMAT}}"
    if period.kind == "month":
        return f"за {MONTHS[period.first_day.month - 1]} {period.first_day.year}"
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
