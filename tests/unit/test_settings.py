"""The settings are read once, typed and validated: a wrong value fails at start, naming its variable."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from pydantic import ValidationError

from socmon.config import api_settings, settings, using_database


@pytest.fixture
def fresh_settings(monkeypatch):
    settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    settings.cache_clear()


def test_values_are_typed(fresh_settings) -> None:
    fresh_settings.setenv("SOCMON_PG_PORT", "6543")
    fresh_settings.setenv("SOCMON_EXTRACTION_LAG_MINUTES", "30")
    fresh_settings.setenv("SOCMON_EVAL_NEGATIVE_SHARE", "0.5")
    s = settings()
    assert (s.pg_port, s.extraction_lag, s.eval_negative_share) == (6543, timedelta(minutes=30), 0.5)
    assert settings() is s  # read once


@pytest.mark.parametrize(
    ("variable", "value", "field"),
    [
        ("SOCMON_PG_PORT", "99999", "pg_port"),
        ("SOCMON_PG_PORT", "пять", "pg_port"),
        ("SOCMON_EVAL_NEGATIVE_SHARE", "1.5", "eval_negative_share"),
        ("SOCMON_PG_DATABASE", "", "database"),
        ("SOCMON_EXTRACT_EVERY_MINUTES", "десять", "extract_every"),
        ("SOCMON_CYCLE_DEADLINE_MINUTES", "скоро", "cycle_deadline"),
        ("SOCMON_SOURCES_PER_TASK", "0", "sources_per_task"),
        ("SOCMON_RETENTION_DAYS", "год", "retention_days"),
    ],
)
def test_a_wrong_value_fails_naming_its_setting(fresh_settings, variable, value, field) -> None:
    fresh_settings.setenv(variable, value)
    with pytest.raises(ValidationError, match=field):
        settings()


def test_the_cycle_deadline_is_one_cycle_unless_set_and_zero_turns_it_off(fresh_settings) -> None:
    fresh_settings.delenv("SOCMON_CYCLE_DEADLINE_MINUTES", raising=False)
    fresh_settings.setenv("SOCMON_EXTRACT_EVERY_MINUTES", "15")
    assert settings().cycle_deadline == timedelta(minutes=15)
    settings.cache_clear()
    fresh_settings.setenv("SOCMON_CYCLE_DEADLINE_MINUTES", "0")
    assert settings().cycle_deadline == timedelta(0)


def test_using_a_database_changes_the_settings_and_not_the_environment(fresh_settings) -> None:
    fresh_settings.setenv("SOCMON_PG_DATABASE", "socmon")
    with using_database("socmon_scratch"):
        assert settings().database == "socmon_scratch"
        assert os.environ["SOCMON_PG_DATABASE"] == "socmon"
    assert settings().database == "socmon"


def test_the_api_settings_are_typed_and_keep_their_secrets_out_of_reprs(fresh_settings) -> None:
    fresh_settings.setenv("SOCMON_VK_TOKEN", "vk1.a.secret")
    fresh_settings.setenv("SOCMON_VK_RPS", "2.5")
    api = api_settings()
    assert api.vk_rps == 2.5 and api.vk_token.get_secret_value() == "vk1.a.secret"
    assert "vk1.a.secret" not in repr(api)
    fresh_settings.setenv("SOCMON_TELEGRAM_API_ID", "не число")
    with pytest.raises(ValidationError, match="telegram_api_id"):
        api_settings()


def test_the_server_settings_have_defaults_each_overridden_by_its_variable(fresh_settings) -> None:
    from socmon.config import PG_SERVER_SETTINGS
    from socmon.warehouse.server import server_options

    for name in PG_SERVER_SETTINGS:
        fresh_settings.delenv(f"SOCMON_PG_{name.upper()}", raising=False)
    assert settings().pg_server_settings == PG_SERVER_SETTINGS
    assert "-c shared_buffers=2GB" in server_options()
    settings.cache_clear()
    fresh_settings.setenv("SOCMON_PG_SHARED_BUFFERS", "4GB")
    fresh_settings.setenv("SOCMON_PG_CHECKPOINT_TIMEOUT", "30 min")
    overridden = {"shared_buffers": "4GB", "checkpoint_timeout": "30 min"}
    assert settings().pg_server_settings == {**PG_SERVER_SETTINGS, **overridden}
    # pg_ctl starts the server through the shell: a value with a space stays one argument
    assert "-c 'checkpoint_timeout=30 min'" in server_options()
