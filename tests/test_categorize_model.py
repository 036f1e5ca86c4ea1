"""The learned categorizer (issue 13): generic words never decide, the typical misses,
explanations and triage, the model file, and the rules combined with the model."""

from __future__ import annotations

import base64
import csv
import json
import random
import subprocess
import sys
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import cli, complaint, write_config

from inbox_agent.config.categorizer import load_categorizer
from inbox_agent.config.char_grams import CHAR_GRAMS, LEGACY_CHAR_GRAMS, CharGrams
from inbox_agent.config.loader import ConfigError, load_config
from inbox_agent.config.model_file import (
    CategoryModel,
    ModelFileError,
    model_to_json,
    parse_model,
    shipped_model,
)
from inbox_agent.config.rules import default_rules
from inbox_agent.services.model_eval import rules_for
from inbox_agent.stages.categorize import categorize
from inbox_agent.stages.features import generic_phrases, mail_features

COMPLAINTS = Path(__file__).resolve().parent / "data" / "complaints"
GENERIC_EDITS = (
    ("help", "subject"),
    ("Help", "text"),
    ("urgent", "subject"),
    ("URGENT!!!", "text"),
    ("紧急", "subject"),
    ("紧急！", "text"),
    ("please", "text"),
    ("Please", "subject"),
    ("!!!", "subject"),
    ("Re:", "subject"),
    ("RE: Fwd:", "subject"),
    # Every mail to a complaint mailbox is a complaint: the word says nothing of which.
    ("Complaint:", "subject"),
    ("投诉", "subject"),
    ("客訴：", "subject"),
    ("COMPLAINT!!!", "text"),
    ("投诉！", "text"),
)


def _rows(name: str) -> list[dict[str, str]]:
    with (COMPLAINTS / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _decided(subject: str, text: str) -> str:
    result = categorize(subject, text, default_rules())
    return result.guess or result.category


def _sample_mails() -> list[dict[str, str]]:
    rng = random.Random(4)
    rows = _rows("zh_heldout.csv") + _rows("en_heldout.csv") + _rows("hard_cases.csv")
    rows += rng.sample(_rows("zh_train.csv"), 60) + rng.sample(_rows("en_train.csv"), 40)
    return rows


def test_generic_words_added_to_subject_or_text_never_change_the_category() -> None:
    mails = _sample_mails()
    assert len(mails) >= 300
    changed = []
    for index, row in enumerate(mails):
        before = _decided(row["subject"], row["text"])
        word, where = GENERIC_EDITS[index % len(GENERIC_EDITS)]
        for front in (True, False):
            subject, text = row["subject"], row["text"]
            if where == "subject":
                subject = f"{word} {subject}" if front else f"{subject} {word}"
            else:
                text = f"{word} {text}" if front else f"{text}\n{word}"
            after = _decided(subject, text)
            if after != before:
                changed.append((word, where, row["subject"], row["text"][:40], before, after))
    assert not changed, changed[:5]


def test_a_generic_word_alone_leaves_no_feature() -> None:
    generic = default_rules().categorizer.generic_tokens
    assert mail_features("Re: URGENT help!!!", "紧急！！ please", generic) == {}
    assert generic_phrases(("Re:", "紧急", "")) == (("紧", "急"), ("re",))


@pytest.mark.parametrize("row", _rows("hard_cases.csv"), ids=lambda row: row["note"][:40])
def test_the_misses_named_in_issue_13(row: dict[str, str]) -> None:
    assert _decided(row["subject"], row["text"]) == row["category"]


def test_every_decision_is_explained_with_ngrams_and_a_confidence() -> None:
    result = categorize("账户被冻结", "我的账户今天被冻结了，无法登录。", default_rules())
    assert result.category == "account_locked"
    assert result.explanation and all(weight > 0 for _, weight in result.explanation)
    assert len(result.explanation) <= default_rules().categorizer.explain_top
    weights = [weight for _, weight in result.explanation]
    assert weights == sorted(weights, reverse=True)
    assert ("account_locked", "冻结") in result.matched
    assert 0.5 < result.confidence <= 1.0
    assert result.model_version == shipped_model().version


def test_low_confidence_is_filed_as_other_and_flagged_for_triage() -> None:
    rules = default_rules()
    strict = replace(rules, categorizer=replace(rules.categorizer, min_confidence=0.999))
    result = categorize("", "the transfer I did yesterday, not sure what happened", strict)
    assert result.needs_triage
    assert result.category == "other"
    assert result.guess and result.guess != "other"
    assert result.categories[:2] == ("other", result.guess)
    relaxed = replace(rules, categorizer=replace(rules.categorizer, min_confidence=0.0))
    assert not categorize("", "the transfer I did yesterday, not sure what happened", relaxed).needs_triage


def test_rules_can_override_the_model_or_be_switched_off() -> None:
    rules = default_rules()
    # A curated decisive term ("冻结") against a mail the model reads as something else.
    text = "Which currencies do you support, and can I order a second card? Do you support Apple Pay? 冻结"
    off = replace(rules, categorizer=replace(rules.categorizer, rules="off"))
    assert categorize("", text, off).category == "other"
    assert ("account_locked", "冻结") in categorize("", text, off).matched  # explains, does not decide
    override = replace(rules, categorizer=replace(rules.categorizer, rules="override"))
    assert categorize("", text, override).category == "account_locked"


def test_categorizer_settings_are_validated_with_their_key_path() -> None:
    errors: list[str] = []
    defaults = {
        "rules": "prior",
        "rule_weight": 0.2,
        "min_confidence": 0.4,
        "explain_top": 5,
        "generic": ["help"],
    }
    settings = load_categorizer(
        defaults,
        {"rules": "vote", "min_confidence": 2, "rule_weight": "x", "extra_generic": ["kindly"], "colour": 1},
        errors,
    )
    assert settings.generic == ("help", "kindly")
    assert settings.min_confidence == 0.4
    assert [e.split(":")[0] for e in errors] == [
        "categorizer.rules",
        "categorizer.min_confidence",
        "categorizer.rule_weight",
        "categorizer.colour",
    ]


def test_the_model_file_reads_back_what_was_written() -> None:
    model = shipped_model()
    again = parse_model(model_to_json(model), "copy")
    assert again == model
    assert set(model.class_category) == {
        "account_locked",
        "transaction_failed",
        "wrong_charge",
        "funds_not_received",
        "security",
        "privacy",
        "customer_service",
        "other",
    }
    assert model.metrics["heldout"]["mails_zh"]["macro_f1"] > 0


def test_model_files_of_formats_1_and_2_read_as_the_same_model() -> None:
    """Models applied before format 3 (format 1: rows; format 2: number lists) stay usable,
    with the character n-grams they were fitted on."""
    model = replace(shipped_model(), network=None, char_grams=LEGACY_CHAR_GRAMS)  # no network before 4
    data = json.loads(model_to_json(model))
    assert data["format"] == 6
    del data["char_ngrams"]
    data["format"] = 2
    table = model.table
    data["features"] = {
        "names": table.names,
        "idf": table.idf.tolist(),
        "counts": np.diff(table.starts).tolist(),
        "classes": table.classes.tolist(),
        "weights": table.weights.tolist(),
    }
    assert parse_model(json.dumps(data), "format 2") == model
    data["format"] = 1
    data["features"] = {
        name: [idf, *(x for pair in weights.items() for x in pair)]
        for name, (idf, weights) in model.features.items()
    }
    assert parse_model(json.dumps(data), "old") == model


def _chinese_pair_model(char_grams: CharGrams) -> CategoryModel:
    """One n-gram only, the Chinese 2-gram "c:冻结", which models before format 6 read."""
    return CategoryModel(
        version="pair",
        classes=("locked", "rest"),
        class_category=("account_locked", "other"),
        intercepts=(0.0, 0.5),
        temperature=1.0,
        features={"c:冻结": (2.0, {0: 3.0})},
        char_grams=char_grams,
    )


def test_an_applied_model_from_before_reads_the_ngrams_it_was_fitted_on(tmp_path: Path) -> None:
    # A model applied with `train --apply` before the n-grams changed (formats 1-5 have
    # no char_ngrams; 3 is the one without a network) still finds its Chinese 2-grams.
    data = json.loads(model_to_json(_chinese_pair_model(LEGACY_CHAR_GRAMS)))
    assert data["char_ngrams"] == {"chinese": [2, 3, 4], "latin": [4]}
    del data["char_ngrams"]
    older = parse_model(json.dumps(data | {"format": 3}), "models/model-old.json")
    assert older.char_grams == LEGACY_CHAR_GRAMS
    result = categorize("", "账户冻结了", rules_for(default_rules(), older))
    assert result.category == "account_locked" and result.explanation == (("c:冻结", 3.0),)
    # The same weights read with today's n-grams would never see that 2-gram (the curated
    # term 冻结 alone decides, less sure).
    today = categorize("", "账户冻结了", rules_for(default_rules(), _chinese_pair_model(CHAR_GRAMS)))
    assert today.explanation == () and today.confidence < result.confidence


@pytest.mark.parametrize(
    "char_ngrams",
    [None, [3], {"chinese": [3]}, {"chinese": [3], "latin": [4], "x": []}, {"chinese": [0], "latin": [4]},
     {"chinese": [9], "latin": [4]}, {"chinese": [4, 3], "latin": [4]}, {"chinese": [3, 3], "latin": [4]},
     {"chinese": ["3"], "latin": [4]}, {"chinese": [True], "latin": [4]}, {"chinese": 3, "latin": [4]}],
)  # fmt: skip
def test_a_format_6_file_names_its_char_ngrams_or_is_refused(char_ngrams: object) -> None:
    data = json.loads(model_to_json(_chinese_pair_model(CHAR_GRAMS)))
    data["char_ngrams"] = char_ngrams
    with pytest.raises(ModelFileError, match=r"models/m\.json: char_ngrams"):
        parse_model(json.dumps(data), "models/m.json")
    del data["char_ngrams"]
    with pytest.raises(ModelFileError, match="char_ngrams: must hold chinese and latin"):
        parse_model(json.dumps(data), "models/m.json")


def test_the_packed_columns_hold_the_same_numbers_bit_for_bit() -> None:
    model = shipped_model()
    again = parse_model(model_to_json(model), "again")
    for mine, theirs in zip(
        (model.table.idf, model.table.starts, model.table.classes, model.table.weights),
        (again.table.idf, again.table.starts, again.table.classes, again.table.weights),
        strict=True,
    ):
        assert mine.dtype == theirs.dtype and mine.tobytes() == theirs.tobytes()
    assert again.table.names == model.table.names


def _packed(**columns: object) -> str:
    table = parse_model(_columns(), "fine").table
    features = table.packed_columns() | columns
    return f'{{"format":3,{_MINIMAL},"features":{json.dumps(features)}}}'


def _column(dtype: str, values: list[float], length: int | None = None) -> dict:
    data = np.array(values, dtype=dtype).tobytes()
    text = base64.b64encode(zlib.compress(data)).decode()
    return {"dtype": dtype, "length": len(values) if length is None else length, "zlib_base64": text}


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        ({"names": ["w:y", "w:x"]}, "code-point order"),
        ({"weights": [0.5, 0.25, -1]}, "features.weights: must be a packed array"),
        ({"weights": _column("<f4", [0.5, 0.25, -1])}, "features.weights: dtype must be one of <f8"),
        ({"classes": _column("<i8", [0, 0, 1])}, "features.classes: dtype must be one of <i2, <i4"),
        ({"weights": _column("<f8", [0.5, 0.25, -1], length=4)}, "holds 24 bytes, 4 x <f8 is 32"),
        ({"weights": _column("<f8", [0.5, 0.25])}, "features.weights: must hold 3 numbers, holds 2"),
        ({"weights": _column("<f8", [0.5, float("nan"), -1])}, "finite"),
        (
            {"weights": {"dtype": "<f8", "length": 3, "zlib_base64": "not base64!"}},
            "not zlib-compressed base64",
        ),
        (
            {"weights": {"dtype": "<f8", "length": 3, "zlib_base64": base64.b64encode(b"plain").decode()}},
            "not zlib-compressed base64",
        ),
        ({"counts": _column("<i2", [1, -1])}, "a count >= 0 for every name"),
        ({"counts": _column("<i2", [1])}, "a count >= 0 for every name"),
        ({"classes": _column("<i2", [0, 2, 1])}, "class index is out of range"),
        ({"classes": _column("<i2", [0, 1, 1])}, "two weights for one n-gram .'w:y'"),
        ({"extra": 1}, "must hold names, idf, counts, classes and weights"),
    ],
)
def test_a_model_file_with_broken_packed_columns_says_which(columns: dict, reason: str) -> None:
    with pytest.raises(ModelFileError, match=reason) as raised:
        parse_model(_packed(**columns), "models/model-x.json")
    assert "models/model-x.json" in str(raised.value)
    assert parse_model(_packed(), "fine").features["w:y"] == (2.0, {0: 0.25, 1: -1.0})


def test_a_packed_column_that_inflates_beyond_any_model_is_refused() -> None:
    deflate = zlib.compressobj()
    inflated_mb = (1 << 27 >> 20) + 1  # one MB beyond the limit, compressed a MB at a time
    deflated = b"".join(deflate.compress(bytes(1 << 20)) for _ in range(inflated_mb)) + deflate.flush()
    bomb = {"dtype": "<f8", "length": 3, "zlib_base64": base64.b64encode(deflated).decode()}
    with pytest.raises(ModelFileError, match="truncated, or larger than a model can be"):
        parse_model(_packed(weights=bomb), "models/model-x.json")


_MINIMAL = '"classes":["a","b"],"class_category":["other","security"],"intercepts":[0,0],"temperature":1'


def _columns(**columns: object) -> str:
    features = {"names": ["w:x", "w:y"], "idf": [1, 2], "counts": [1, 2], "classes": [0, 0, 1]}
    features |= {"weights": [0.5, 0.25, -1]} | columns
    return f'{{"format":2,{_MINIMAL},"features":{json.dumps(features)}}}'


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_columns(names=["w:y", "w:x"]), "code-point order"),
        (_columns(names=["w:x", "w:x"]), "code-point order"),
        (_columns(counts=[1, 1]), "features.classes: must be a list of 2"),
        (_columns(counts=[1]), "a count >= 0 for every name"),
        (_columns(classes=[0, 2, 1]), "class index is out of range"),
        (_columns(classes=[0, 1, 1]), "two weights for one n-gram .'w:y'"),
        (_columns(weights=[0.5, True, 1]), "features.weights: must be a list of 3 numbers"),
        (_columns(idf=[1]), "features.idf: must be a list of 2 numbers"),
        (_columns(weights=[0.5, float("nan"), 1]), "finite"),
        (f'{{"format":1,{_MINIMAL},"features":{{"w:x":[1,1,0.5,1,0.25]}}}}', "two weights for one n-gram"),
    ],
)
def test_a_model_file_with_broken_columns_says_which(text: str, reason: str) -> None:
    with pytest.raises(ModelFileError, match=reason):
        parse_model(text, "models/model-x.json")
    assert parse_model(_columns(), "fine").features["w:y"] == (2.0, {0: 0.25, 1: -1.0})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not valid JSON"),
        ('{"format": 7}', "not a category model of format 1, 2, 3, 4, 5 or 6"),
        (
            '{"format":1,"classes":["a"],"class_category":["nope"],"intercepts":[0],"temperature":1,"features":{"w:x":[1,0,1]}}',
            "unknown categories",
        ),
        (
            '{"format":1,"classes":["a"],"class_category":["other"],"intercepts":[0],"temperature":1,"features":{"w:x":[1,3,1]}}',
            "class index is out of range",
        ),
    ],
)
def test_a_broken_model_file_names_the_file_and_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ModelFileError, match=reason) as raised:
        parse_model(text, "models/model-x.json")
    assert "models/model-x.json" in str(raised.value)


def test_a_broken_applied_model_stops_start_up_with_its_path(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    (models / "current.json").write_text(json.dumps({"current": "model-gone.json", "previous": []}))
    with pytest.raises(ConfigError, match="model-gone.json"):
        load_config(config)


def test_classify_json_shows_the_explanation(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    mail = tmp_path / "mail.eml"
    mail.write_bytes(
        complaint("li@customer.example", "提现没到账", "三天前提现的钱到现在还没到账，一直显示处理中。")
    )
    result = cli(config, "classify", "--json", str(mail))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["category"] == "funds_not_received"
    assert data["explanation"] and {"feature", "weight"} <= set(data["explanation"][0])
    assert data["needs_triage"] is False
    assert data["model"] == shipped_model().version
    assert 0 < data["confidence"] <= 1


def test_latin_character_ngrams_are_four_long_and_chinese_ones_three() -> None:
    features = mail_features("", "the account 账户冻结")
    chars = [name[2:] for name in features if name.startswith("c:")]
    assert "acco" in chars and " 账户" in chars and "账户冻" in chars and "冻结 " in chars
    assert all(len(gram) == 4 for gram in chars if max(gram) < "\u3400")  # no "th", " th"
    assert all(len(gram) == 3 for gram in chars if max(gram) >= "\u3400")  # pairs are b:
    assert "b:账 户" in features and "b:account 账" in features
    assert "w:the" in features and "b:the account" in features  # words are all kept


def test_the_shipped_rule_weight_is_the_one_chosen_with_the_shipped_model() -> None:
    # bench/train_model.py chooses the rule mode and weight on CV (or is told, --rules)
    # and stores them with the model; default_rules.toml must apply what the model was
    # measured with, not an older choice.
    settings, model = default_rules().categorizer, shipped_model()
    assert (settings.rules, settings.rule_weight) == (model.metrics["rules"], model.metrics["rule_weight"])
    assert model.metrics["rules_from"] in ("cv", "--rules")


def test_the_trainer_refuses_a_rules_mode_it_does_not_measure_before_any_work() -> None:
    script = Path(__file__).resolve().parents[1] / "bench" / "train_model.py"
    done = subprocess.run(
        [sys.executable, str(script), "--rules", "prior:0.3", "--no-write"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--rules prior:0.3: not one of off:0.0, prior:0.1, prior:0.2" in done.stderr
    assert "training part" not in done.stdout  # refused before the corpus is read
