"""The settings are read once, typed and validated: a wrong value fails at start, naming its variable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from socmon.config import settings


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
    ],
)
def test_a_wrong_value_fails_naming_its_setting(fresh_settings, variable, value, field) -> None:
    fresh_settings.setenv(variable, value)
    with pytest.raises(ValidationError, match=field):
        settings()
