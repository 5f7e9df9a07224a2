"""Official account compliance (issue #5) on a small sandbox extraction: marts, gate and «Аккаунты» sheet.

Three generated days of VK, OK and Telegram, ending the day before a fixed TODAY, are extracted into a
fresh warehouse (loaded at a fixed time, judged at a fixed as_of_at). The sandbox keeps some official
accounts poorly on purpose (a silent VK community, one unverified without a cover, one without
description and site, one with comments closed and no avatar; a Telegram channel under an informal
name and unverified, one without description or comments; an OK group without website, phone and
address). dbt builds the compliance marts with what they need, the GX gate checks them, and the daily
export writes the «Аккаунты» sheet. The VK flaws are found from the generated payloads, not
hard-coded, since the sandbox hands its styles to the ministries in a seeded order.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from psycopg.rows import dict_row

from socmon.period import MOSCOW
from socmon.quality.gate import run_gate
from socmon.reports import labels_ru
from socmon.reports.export import export_period
from socmon.sources import extract_all, extract_into_raw
from socmon.sources.registry import due_sources
from socmon.sources.telegram import TelegramChannelReader, TelegramExtractor
from socmon.transform import run_dbt
from socmon_sandbox import running_sandbox
from socmon_sandbox.telegram_fake import FakeTelegramClient

pytestmark = pytest.mark.integration

DAYS = 3
NETWORKS = ("vk", "ok", "telegram")
BODY_COUNT = 33  # domain/executive_bodies.csv: the administration and 32 executive bodies
VK_NO_PHOTO = "/images/community_"
KRAI = " Краснодарского края"
# The fixed clock: the three days before Friday 27.11.2026 were extracted at 11:00 that day, and dbt
# judges the accounts at noon (var as_of_at).
TODAY = date(2026, 11, 27)
LOADED_AT = datetime(2026, 11, 27, 11, 0, tzinfo=MOSCOW)
AS_OF = datetime(2026, 11, 27, 12, 0, tzinfo=MOSCOW)


@pytest.fixture(scope="module")
def extracted(warehouse, stamp_loads) -> dict[str, Any]:
    """Raw data of the three sandbox days before TODAY (Moscow), loaded at LOADED_AT; returns the
    generated VK payloads."""
    first_day = TODAY - timedelta(days=DAYS)
    since = datetime.combine(first_day, datetime.min.time(), MOSCOW)
    until = since + timedelta(days=DAYS)
    with (
        warehouse.connect("admin", autocommit=True) as admin,
        stamp_loads(admin, LOADED_AT),
        running_sandbox(first_day, DAYS) as sandbox,
        pytest.MonkeyPatch.context() as env,
    ):
        for name, value in {
            "SOCMON_VK_API_URL": sandbox.vk.url,
            "SOCMON_VK_RPS": "100",
            "SOCMON_OK_API_URL": sandbox.ok.api_url,
            "SOCMON_OK_RPS": "100",
            "SOCMON_OK_APPLICATION_KEY": sandbox.ok.application_key,
            "SOCMON_OK_ACCESS_TOKEN": sandbox.ok.access_token,
            "SOCMON_OK_APPLICATION_SECRET_KEY": sandbox.ok.application_secret_key,
        }.items():
            env.setenv(name, value)
        extract_all("vk", since, until)
        extract_all("ok", since, until)
        telegram = TelegramExtractor(lambda: TelegramChannelReader(FakeTelegramClient(sandbox.social_world)))
        for source in due_sources("telegram"):
            extract_into_raw(source, since, until, telegram)
        world = sandbox.vk_world
    return {"today": TODAY, "last_day": until.date() - timedelta(days=1), "vk_world": world}


@pytest.fixture(scope="module")
def built(extracted: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The compliance marts and everything upstream (staging, incidents for ACC-09, snapshots), then the
    compliance models' data tests. Unit tests run in every full `dbt build` (socmon transform). dbt writes
    its artifacts to a temporary folder, out of the way of other runs."""
    scratch = tmp_path_factory.mktemp("dbt")
    paths = ["--target-path", str(scratch / "target"), "--log-path", str(scratch / "logs")]
    upstream = ["--resource-type", "seed", "--resource-type", "snapshot", "--resource-type", "model"]
    clock = {"as_of_at": AS_OF.isoformat()}
    # fct_messages_classified too: the gate checks fct_incidents against it
    marts = ["+marts.compliance", "fct_messages_classified"]
    run_dbt(["build", "--select", *marts, *upstream, *paths], clock)
    compliance = ["intermediate.compliance", "marts.compliance"]
    only_data_tests = ["--exclude-resource-type", "unit_test", "--indirect-selection", "cautious"]
    run_dbt(["test", "--select", *compliance, *only_data_tests, *paths], clock)
    return extracted


@pytest.fixture(scope="module")
def daily(built: dict[str, Any], warehouse) -> dict[tuple[str, str], dict[str, Any]]:
    """The rows of the mart's last day, by (body_code, platform)."""
    with warehouse.connect("bi") as conn, conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            "select * from marts.mart_account_compliance_daily"
            " where compliance_date = (select max(compliance_date) from marts.mart_account_compliance_daily)"
        ).fetchall()
    return {(row["body_code"], row["platform"]): row for row in rows}


def _vk_account(daily: dict, group_id: int) -> dict[str, Any]:
    [row] = [row for row in daily.values() if row["account_key"] == f"vk:-{group_id}"]
    return row


def _official_vk_groups(world) -> dict[int, dict[str, Any]]:
    return {
        gid: group
        for gid, group in world.vk_groups.items()
        if group.get("activity") == "Органы государственной власти"
    }


# ---- the marts ----


def test_every_body_has_a_row_for_every_network_every_day(built: dict, warehouse) -> None:
    with warehouse.connect("bi") as conn:
        days, weeks, rows, combinations, last = conn.execute(
            "select count(distinct compliance_date), count(distinct date_trunc('week', compliance_date)),"
            " count(*), count(distinct (compliance_date, body_code, platform)), max(compliance_date)"
            " from marts.mart_account_compliance_daily"
        ).fetchone()
        weekly = conn.execute("select count(*) from marts.mart_account_compliance_weekly").fetchone()[0]
    assert last == built["today"]  # through the run date (Moscow), from the first metadata reading
    assert rows == combinations == days * BODY_COUNT * len(NETWORKS)
    assert weekly == weeks * BODY_COUNT * len(NETWORKS)


def test_a_body_without_an_account_fails_acc01_in_each_network(daily: dict) -> None:
    for network in NETWORKS:
        row = daily[("minecon", network)]  # no account anywhere in the registry
        assert row["account_key"] is None
        assert (row["acc01_status"], row["acc01_is_passed"], row["acc01_value"]) == ("failed", False, 0)
        assert (
            row["acc01_explanation_ru"]
            == f"В реестре нет аккаунта органа в сети {labels_ru.PLATFORM[network]}."
        )
        assert row["acc07_status"] == "not_evaluated"
        assert row["account_score_pct"] == 0
    assert daily[("gzhi", "telegram")]["acc01_status"] == "failed"  # VK and OK, but no Telegram
    assert daily[("gzhi", "vk")]["acc01_status"] == "passed"


def test_the_flawed_vk_communities_fail_their_checks(daily: dict, built: dict) -> None:
    world = built["vk_world"]
    groups = _official_vk_groups(world)
    checked = set()
    for group_id, group in groups.items():
        row = _vk_account(daily, group_id)
        assert row["acc01_status"] == "passed"
        if not group["verified"]:
            assert (
                row["acc05_status"] == "failed" and "Нет отметки верификации" in row["acc05_explanation_ru"]
            )
            checked.add("unverified")
        if not group["cover"].get("enabled"):
            assert row["acc03_status"] == "failed" and "нет обложки" in row["acc03_explanation_ru"]
            checked.add("no cover")
        if VK_NO_PHOTO in group["photo_200"]:
            assert row["acc03_status"] == "failed" and "нет аватара" in row["acc03_explanation_ru"]
            checked.add("no avatar")
        if not group["description"]:
            assert row["acc04_status"] == "failed" and not row["has_activity_info"]
            assert "описание деятельности" in row["acc04_explanation_ru"]
            checked.add("no description")
        if not group["site"]:
            assert not row["has_website"] and "сайт" in row["acc04_explanation_ru"]
            checked.add("no site")
        if group["wall"] == 3:
            assert row["acc06_status"] == "failed"
            assert row["acc06_explanation_ru"] == "Комментарии закрыты: стена закрыта."
            checked.add("comments closed")
        if group["verified"] and group["cover"].get("enabled") and VK_NO_PHOTO not in group["photo_200"]:
            assert row["acc03_status"] == row["acc05_status"] == "passed"
        if group["wall"] in (1, 2):
            assert row["acc06_status"] == "passed"
    silent = [gid for gid in groups if not _posts_in_period(world, gid)]
    assert silent, "the sandbox has a silent official community"
    for group_id in silent:
        row = _vk_account(daily, group_id)
        assert (row["acc07_status"], row["acc07_value"]) == ("failed", 0)
        assert row["acc10_status"] == "not_evaluated"  # no posts: no engagement to measure
    assert checked == {"unverified", "no cover", "no avatar", "no description", "no site", "comments closed"}


def _posts_in_period(world, group_id: int) -> list[dict]:
    start = datetime.combine(world.start, datetime.min.time(), MOSCOW).timestamp()
    return [p for p in world.vk_posts.get(-group_id, []) if p["date"] >= start and p["from_id"] == -group_id]


def test_the_flawed_telegram_channels_and_ok_group_fail_their_checks(daily: dict) -> None:
    informal = daily[("mintek", "telegram")]  # «Минтопэнерго Кубани», not verified
    assert informal["acc02_status"] == "failed" and float(informal["acc02_value"]) < 0.5
    assert "«Минтопэнерго Кубани»" in informal["acc02_explanation_ru"]
    assert informal["acc05_status"] == "failed"

    silent_channel = daily[("minzdrav", "telegram")]  # no description, no discussion group
    assert silent_channel["acc04_status"] == "failed" and silent_channel["acc04_value"] == 0
    assert silent_channel["acc06_status"] == "not_evaluated"  # comments are not required in Telegram
    assert "ACC-06" in silent_channel["not_applicable_check_codes"]
    assert "комментарии отключены" in silent_channel["acc06_explanation_ru"]
    assert silent_channel["acc09_status"] == "passed" and silent_channel["questions_due_7d"] == 0
    assert "комментарии в канале отключены" in silent_channel["acc09_explanation_ru"]
    assert silent_channel["applicable_check_count"] == 9

    poorly_kept = daily[("gzhi", "ok")]  # no website, phone or address fields
    assert poorly_kept["acc04_status"] == "failed"
    assert (poorly_kept["has_phone"], poorly_kept["has_address"], poorly_kept["has_website"]) == (
        False,
        False,
        False,
    )
    assert poorly_kept["has_email"] and poorly_kept["has_activity_info"]
    assert poorly_kept["acc04_explanation_ru"] == "В профиле нет: телефон, адрес, сайт (указано 2 из 5)."
    assert (
        poorly_kept["acc05_status"] == "not_evaluated"
        and "ACC-05" in poorly_kept["not_applicable_check_codes"]
    )


def test_well_kept_accounts_pass_and_scores_add_up(daily: dict) -> None:
    for key in (("mintrans", "ok"), ("mintrans", "telegram"), ("administration", "vk")):
        row = daily[key]
        assert row["acc01_status"] == row["acc02_status"] == row["acc04_status"] == "passed", key
        assert row["acc08_status"] == "passed", key
    for row in daily.values():
        assert (
            row["passed_check_count"] + row["failed_check_count"] + row["not_evaluated_check_count"]
            == (row["applicable_check_count"])
        )
        assert 0 <= row["account_score_pct"] <= 100 and 0 <= row["body_score_pct"] <= 100
        assert row["is_compliant"] == (row["passed_check_count"] == row["applicable_check_count"])
    mintrans = [row for (body, _), row in daily.items() if body == "mintrans"]
    passed = sum(row["passed_check_count"] for row in mintrans)
    applicable = sum(row["applicable_check_count"] for row in mintrans)
    assert {float(row["body_score_pct"]) for row in mintrans} == {round(100 * passed / applicable, 1)}
    posts = [row for row in daily.values() if row["account_key"] and row["posts_7d"]]
    assert posts and all(row["er_post_median_7d_pct"] is not None for row in posts if row["follower_count"])


def test_account_metadata_history_is_kept(built: dict, warehouse) -> None:
    with warehouse.connect("admin") as conn:
        versions, accounts, current = conn.execute(
            "select count(*), count(distinct account_key), count(*) filter (where dbt_valid_to is null)"
            " from snapshots.snap_account_metadata"
        ).fetchone()
    assert accounts == 15  # every registered official account that answered
    assert current == accounts and versions >= accounts


# ---- the gate and the export ----


def test_the_gate_passes_on_the_compliance_mart(built: dict) -> None:
    result = run_gate("marts")

    assert result.success, result.summary()


def test_the_daily_export_has_the_accounts_sheet(built: dict, tmp_path) -> None:
    xlsx = export_period("day", built["last_day"], out_dir=tmp_path)[0]
    workbook = openpyxl.load_workbook(xlsx)

    assert workbook.sheetnames == [
        labels_ru.SHEET_SUMMARY,
        labels_ru.SHEET_INCIDENTS,
        labels_ru.SHEET_ACCOUNTS,
    ]
    rows = list(workbook[labels_ru.SHEET_ACCOUNTS].iter_rows(values_only=True))
    assert rows[0][0] == labels_ru.ACCOUNTS_TITLE
    assert rows[1][0].startswith(f"{labels_ru.ACCOUNTS_AS_OF} {built['today']:%d.%m.%Y}")
    header = rows.index(labels_ru.ACCOUNT_HEADERS)
    failures = [
        dict(zip(labels_ru.ACCOUNT_HEADERS, row, strict=True)) for row in rows[header + 1 :] if row[3]
    ]
    by_check = {(f["Орган"], f["Сеть"], f["Код проверки"]): f for f in failures}

    economy = "Министерство экономики Краснодарского края"
    for network in NETWORKS:
        missing = by_check[(economy, labels_ru.PLATFORM[network], "ACC-01")]
        assert missing["Аккаунт"] == labels_ru.NO_ACCOUNT
        assert missing["Проверка"] == "Аккаунт есть и доступен"
        assert missing["Пояснение"] == f"В реестре нет аккаунта органа в сети {labels_ru.PLATFORM[network]}."
    mintek = "Министерство топливно-энергетического комплекса и жилищно-коммунального хозяйства" + KRAI
    informal = by_check[(mintek, "Telegram", "ACC-02")]
    assert informal["Аккаунт"] == "mintek_kuban" and "Минтопэнерго Кубани" in informal["Пояснение"]
    gzhi = "Государственная жилищная инспекция Краснодарского края"
    assert by_check[(gzhi, "Одноклассники", "ACC-04")]["Пояснение"].startswith(
        "В профиле нет: телефон, адрес, сайт"
    )
    assert not any(code == "ACC-01" for body, _, code in by_check if body == mintek)  # its accounts answer
    assert {f["Код проверки"] for f in failures} <= {f"ACC-{n:02d}" for n in range(1, 11)}
    assert all(f["Пояснение"] for f in failures)
