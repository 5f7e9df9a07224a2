"""The learned scores' training (report vs talk, category): deterministic, seeds read back as written."""

from pathlib import Path

import pytest

from socmon.report_model import (
    fit,
    fit_categories,
    read_category_seed,
    read_seed,
    run_training,
    word_starts,
    write_category_seed,
    write_seed,
)

REPORTS = [
    "третий день нет воды на улице мира",
    "яма на дороге никто не заделывает",
    "мусор не вывозят вторую неделю",
    "нет света вторые сутки куда жаловаться",
]
TALK = [
    "ходили в парк с детьми отлично погуляли",
    "кто пойдет на матч в субботу",
    "советую кафе на набережной вкусно",
    "продам велосипед недорого",
]


def corpus():
    texts = [text.split() for text in REPORTS + TALK]
    return texts, [True] * len(REPORTS) + [False] * len(TALK)


def test_word_starts_are_the_first_five_letters_once():
    assert word_starts(["водоканал", "воды", "водоканалу", "", "на"]) == {"водок", "воды", "на"}


def test_training_is_reproducible_and_tells_a_report_from_talk():
    first, second = fit(*corpus()), fit(*corpus())
    assert first.seed_rows() == second.seed_rows()
    assert first.score(["опять", "нет", "воды", "день"]) > first.score(["ходили", "в", "кафе", "с", "детьми"])


def test_the_seed_reads_back_as_written(tmp_path: Path):
    model = fit(*corpus())
    seed = tmp_path / "report_score_weights.csv"
    write_seed(model, seed)
    assert read_seed(seed).seed_rows() == model.seed_rows()
    assert seed.read_text(encoding="utf-8").splitlines()[:3] == [
        "feature_kind,word_start,weight",
        f"intercept,,{model.intercept:.3f}",
        f"floor,,{model.floor:.3f}",
    ]


CATEGORISED = {
    "utilities": ["третий день нет воды", "нет воды и света", "прорвало трубу воды нет"],
    "roads": ["яма на дороге", "дорогу разбили ямы", "на дороге яма колесо пробил"],
    "waste": ["мусор не вывозят", "контейнеры переполнены мусор", "мусор неделю лежит"],
}


def categorised():
    pairs = [(text.split(), category) for category, texts in CATEGORISED.items() for text in texts]
    return [words for words, _ in pairs], [category for _, category in pairs]


def test_category_training_is_reproducible_and_ranks_a_message_s_category_first(tmp_path: Path):
    first, second = fit_categories(*categorised()), fit_categories(*categorised())
    assert first.seed_rows() == second.seed_rows()
    assert first.ranking(["опять", "нет", "воды"])[0] == "utilities"
    assert first.ranking(["огромная", "яма", "на", "дороге"])[0] == "roads"
    seed = tmp_path / "category_score_weights.csv"
    write_category_seed(first, seed)
    assert read_category_seed(seed).seed_rows() == first.seed_rows()
    assert seed.read_text(encoding="utf-8").splitlines()[0] == "feature_kind,word_start,category_code,weight"


def test_the_held_out_part_is_never_trained_on(tmp_path: Path):
    with pytest.raises(ValueError, match="never trained on"):
        run_training(tmp_path / "incident_holdout_set.jsonl", tmp_path / "weights.csv")
