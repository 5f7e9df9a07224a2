"""What keeps an hourly run's cost off the size of the history, in the dbt project's text
(bench/README.md, «Hourly cost at the issue's size»: each of these was measured at 10.5 million messages)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
MODELS = PROJECT / "models"


def model_sql(name: str) -> str:
    return next(MODELS.rglob(f"{name}.sql")).read_text(encoding="utf-8")


def config_block(sql: str) -> str:
    return sql[sql.index("config(") : sql.index("\n}}")]


def test_the_rule_version_check_seeks_an_index_in_every_model_that_asks_it():
    macro = (PROJECT / "macros" / "rule_version.sql").read_text(encoding="utf-8")
    check = macro[macro.index("macro holds_other_rule_version_sql") :]
    assert "<>" not in check and "rule_version <" in check and "rule_version >" in check
    askers = [p for p in MODELS.rglob("*.sql") if "holds_other_rule_version(" in p.read_text("utf-8")]
    assert len(askers) >= 5
    for path in askers:
        assert "{'columns': ['rule_version']}" in config_block(path.read_text(encoding="utf-8")), path.name


def test_no_mart_indexes_its_primary_key_twice():
    marts = yaml.safe_load((MODELS / "marts" / "_marts__models.yml").read_text(encoding="utf-8"))
    checked = 0
    for model in marts["models"]:
        keys = [
            column["name"]
            for column in model.get("columns", [])
            if any(c.get("type") == "primary_key" for c in column.get("constraints", []))
        ]
        path = next(MODELS.rglob(f"{model['name']}.sql"), None)
        if not keys or path is None or "indexes=" not in path.read_text(encoding="utf-8"):
            continue
        checked += 1
        block = config_block(path.read_text(encoding="utf-8"))
        assert f"{{'columns': {keys!r}}}" not in block, f"{model['name']}: the primary key has its own index"
    assert checked >= 5


def test_post_hook_indexes_do_not_lock_their_table_on_every_run():
    files = [*MODELS.rglob("*.sql"), *(PROJECT / "snapshots").rglob("*")]
    texts = [p.read_text(encoding="utf-8") for p in files]
    incremental = [t for t in texts if "materialized='incremental'" in t or "snap_incident_status" in t]
    assert incremental
    for text in incremental:
        hooks = re.findall(r"post_hook.*?(?:\]\s*,|\n\s*columns:)", text, flags=re.S)
        assert not any("create index if not exists" in hook for hook in hooks)


def test_the_batch_stamps_are_analyzed_with_a_small_sample():
    macro = (PROJECT / "macros" / "incremental.sql").read_text(encoding="utf-8")
    body = macro[macro.index("macro analyze_what_was_written") :]
    assert "set statistics {{ var('batch_stamp_statistics_target') }}" in body
    target = yaml.safe_load((PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    assert 1 <= target["batch_stamp_statistics_target"] < 100  # 100, Postgres' default: 30,000 pages


def test_declassified_rows_are_deleted_through_index_lookups():
    macro = (PROJECT / "macros" / "incremental.sql").read_text(encoding="utf-8")
    start = macro.index("macro delete_no_longer_incidents")
    body = macro[start : macro.index("endmacro", start)]
    assert "target.ctid = any(array(" in body and "cross join lateral" in body and "offset 0" in body
    assert "using" not in body.split("delete from")[1].split("where")[0]


def cte(sql: str, name: str) -> str:
    start = sql.index(f"\n{name} as")
    return sql[start : sql.index("\n),", start)]


def test_the_classification_reads_only_the_batchs_places_and_scores():
    # a join with the whole score tables was hashed over 10.5M rows each (its pre-hooks turn nested loops off)
    sql = model_sql("int_messages_classified")
    for name, model in (
        ("places", "int_message_municipalities"),
        ("report_scores", "int_message_report_scores"),
        ("category_rankings", "int_message_category_scores"),
        ("message_tokens", "int_message_tokens"),
        ("batch_lexicon_hits", "int_message_lexicon_hits"),
    ):
        body = cte(sql, name)
        assert "where {{ batch_condition }}" in body, name
        if model not in body:  # through a CTE of the whole model, not materialized
            source = next(c for c in ("tokens", "lexicon_hits") if f"from {c} as batch" in body)
            assert f"{source} as not materialized" in sql and model in cte(sql, source)
    assert sql.count("where {{ batch_condition }}") == 6  # the five above and the batch's messages


def test_the_category_score_reads_only_the_batchs_words():
    sql = model_sql("int_message_category_scores")
    body = cte(sql, "messages")
    assert body.count("as batch\n        where {{ batch_condition }}") == 2
    assert "processed_since('unioned_at')" in sql[: sql.index("\nmessages as")]


def test_the_classification_keeps_no_index_nothing_reads():
    block = config_block(model_sql("int_messages_classified"))
    for column in ("loaded_at", "reply_thread_key", "parent_message_key"):
        assert f"{{'columns': ['{column}']}}" not in block, column
    # its duplicate detection reads earlier messages by author and time; the answers' matching by thread
    for kept in ("['author_id', 'published_at']", "['thread_root_key']", "['unioned_at']"):
        assert f"{{'columns': {kept}}}" in block, kept
