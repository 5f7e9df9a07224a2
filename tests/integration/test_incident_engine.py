"""The classifier against the labelled sets, with the real dbt models in a scratch database.

One run classifies the development and hold-out sets together (about a minute): the figures `make eval`
prints must reach the issue's targets. Until the classifier is rebuilt for the realistic corpus (issue 12)
those tests are expected failures; meanwhile the rules must keep their figures on the lines the sets held
before (the original development lines dev-0xxx and the former hold-out, now dev-hxxxx). The development set
meets the first bar; the held-out part does not meet the issue's targets yet (expected failures). The SQL of
merging, overrides, deadlines, SLA statuses, ratings and spikes is covered by the dbt unit tests that
every `dbt build` runs.
"""

import os
import re

import pytest

from socmon.config import settings, using_database
from socmon.evaluation import (
    NEGATIVE_SHARE,
    TARGETS,
    classify,
    default_labelled_sets,
    load_labelled_set,
    measure,
)
from socmon.report_model import (
    CATEGORY_SEED_PATH,
    DEVELOPMENT_SET,
    SEED_PATH,
    read_category_seed,
    read_seed,
    read_words,
    train,
    train_categories,
)
from socmon.warehouse import server

pytestmark = pytest.mark.integration

EVAL_DATABASE = "socmon_test_eval"
EARLIER_LINES = re.compile(r"dev-(0\d{3}|h\d{4})")  # the sets as they were before issue 12


@pytest.fixture(scope="module")
def labelled_sets(warehouse):
    sets = {path.stem: load_labelled_set(path) for path in default_labelled_sets()}
    everything = [message for messages in sets.values() for message in messages]
    own_database, environment = settings().database, dict(os.environ)
    predictions = classify(everything, database=EVAL_DATABASE)
    assert settings().database == own_database  # the scratch database was only borrowed
    assert dict(os.environ) == environment  # and dbt was given its settings, not the environment
    scores = {name: measure(messages, predictions) for name, messages in sets.items()}
    earlier = [m for m in sets["incident_dev_set"] if EARLIER_LINES.fullmatch(m.id)]
    scores["earlier_lines"] = measure(earlier, predictions)
    return scores


@pytest.mark.parametrize("name", ["incident_dev_set", "incident_holdout_set"])
def test_the_classifier_meets_the_targets(labelled_sets, name):
    scores = labelled_sets[name]
    assert scores.f1 >= 0.85, f"incident F1 {scores.f1:.3f}"
    assert scores.category_accuracy >= 0.80, f"category {scores.category_accuracy:.3f}"
    assert scores.body_accuracy >= 0.80, f"body {scores.body_accuracy:.3f}"
    assert scores.municipality_accuracy >= 0.85, f"municipality {scores.municipality_accuracy:.3f}"


def test_the_held_out_part_meets_the_issues_targets(labelled_sets):
    """Issue 12's targets on the part never tuned on. On 2026-12-05: F1 0.91 and precision 0.93 at the base
    rate, category 0.91 and body 0.92 (one and two messages above 0.9: retraining may move them), municipality
    0.99."""
    scores = labelled_sets["incident_holdout_set"]
    precision, _, f1 = scores.at_base_rate(NEGATIVE_SHARE)
    assert f1 >= TARGETS["incident_f1"], f"incident F1 at the base rate {f1:.3f}"
    assert precision >= TARGETS["precision_at_base_rate"], f"precision at the base rate {precision:.3f}"
    assert scores.category_accuracy >= TARGETS["category"], f"category {scores.category_accuracy:.3f}"
    assert scores.body_accuracy >= TARGETS["body"], f"body {scores.body_accuracy:.3f}"
    assert scores.municipality_accuracy >= TARGETS["municipality"], (
        f"municipality {scores.municipality_accuracy:.3f}"
    )


def test_the_rules_keep_their_figures_on_the_earlier_lines(labelled_sets):
    scores = labelled_sets["earlier_lines"]
    assert scores.messages >= 492
    assert scores.f1 >= 0.85, f"incident F1 {scores.f1:.3f}"
    assert scores.category_accuracy >= 0.80, f"category {scores.category_accuracy:.3f}"
    assert scores.body_accuracy >= 0.80, f"body {scores.body_accuracy:.3f}"
    assert scores.municipality_accuracy >= 0.85, f"municipality {scores.municipality_accuracy:.3f}"


def test_non_incidents_get_their_reason(labelled_sets):
    scores = labelled_sets["earlier_lines"]
    assert scores.reason_accuracy >= 0.85


def test_the_learned_seeds_are_what_training_on_the_development_set_writes(labelled_sets):
    """`socmon train-classifier` on the dev set's words (as int_message_tokens split them) writes the seeds
    of the report score and of the category score."""
    development = load_labelled_set(settings().project_dir / DEVELOPMENT_SET)
    with using_database(EVAL_DATABASE):
        words = read_words(development)
    seed = read_seed(settings().dbt_project_dir / SEED_PATH)
    assert train(development, words).seed_rows() == seed.seed_rows()
    category_seed = read_category_seed(settings().dbt_project_dir / CATEGORY_SEED_PATH)
    assert train_categories(development, words).seed_rows() == category_seed.seed_rows()


# Every regular expression of the lexicons that matches a message, tried on every message of the sets, and the
# alternatives of it whose anchor word (whole, or a word start) and required text the message holds: the
# classification tries a regex only on such messages (int_message_lexicon_hits), so none may be missing.
MATCHES_NO_ALTERNATIVE_ADMITS = """
with
terms as (
    select regex_id, regex, reads_whole_text, anchor, anchor_is_word, required_text
    from intermediate.int_lexicon_terms
    where term_kind = 'regex'
),
regexes as (
    select distinct regex_id, regex, reads_whole_text from terms
),
messages as (
    select
        source_message_key,
        normalized_text,
        coalesce(content_text, normalized_text)         as content_text,
        coalesce(content_words, words)                  as content_words,
        coalesce(markup_words, '{}')                    as markup_words
    from intermediate.int_message_tokens
),
matches as (
    select messages.source_message_key, regexes.regex_id, regexes.regex
    from messages
    cross join regexes
    where regexp_count(
        case when regexes.reads_whole_text then messages.normalized_text else messages.content_text end,
        regexes.regex
    ) > 0
)
select matches.regex, messages.normalized_text
from matches
inner join messages
    on messages.source_message_key = matches.source_message_key
where not exists (
    select 1
    from terms as alternative
    where alternative.regex_id = matches.regex_id
        and (
            alternative.required_text is null
            or strpos(
                case when alternative.reads_whole_text then messages.normalized_text
                    else messages.content_text end,
                alternative.required_text
            ) > 0
        )
        and (
            alternative.anchor is null
            or exists (
                select 1
                from unnest(
                    messages.content_words
                    || case when alternative.reads_whole_text then messages.markup_words else '{}' end
                ) as words (word)
                where case
                    when alternative.anchor_is_word then words.word = alternative.anchor
                    else words.word ^@ alternative.anchor
                end
            )
        )
)
order by 1, 2
"""


def test_the_regexes_anchors_and_required_texts_miss_no_match(labelled_sets):
    """int_lexicon_terms derives each regex alternative's anchor and required text from the seeds' regular
    expressions; they only narrow which messages a regex is tried on, so on the sets' 2,400 messages every
    regex that matches must have an alternative whose anchor and required text the message holds."""
    with using_database(EVAL_DATABASE), server.connect("transform") as conn:
        missed = conn.execute(MATCHES_NO_ALTERNATIVE_ADMITS).fetchall()
        regexes = conn.execute(
            "select count(distinct regex_id) from intermediate.int_lexicon_terms"
        ).fetchone()[0]
    assert regexes >= 50  # the lexicons were read
    assert missed == [], f"{len(missed)} matches no anchor admits, the first: {missed[:3]}"
