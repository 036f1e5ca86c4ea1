"""The category model's second opinion (issue 13): a small network beside the linear model.

Checked against scikit-learn itself (the exported numbers decide as the fitted network
does), through the model file (format 6, its first layer as 8-bit codes; format 5, format 4's
16-bit layer and format 3 without a network still read for --rollback), and in what
staff see (classify --json, the case's explanation)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import cli, complaint, write_config
from hypothesis import given
from hypothesis import strategies as st

from inbox_agent.adapters.training_corpus import load_corpus
from inbox_agent.config.categorizer import load_categorizer
from inbox_agent.config.char_grams import CHAR_GRAMS, LEGACY_CHAR_GRAMS
from inbox_agent.config.model_file import ModelFileError, model_to_json, parse_model, shipped_model
from inbox_agent.config.rules import default_rules
from inbox_agent.config.second_opinion import SecondOpinion, eight_bit
from inbox_agent.services.model_eval import rules_for
from inbox_agent.services.model_fit import (
    Recipe,
    _fit_network,
    _fit_weights,
    _mail_matrix,
    fit_network_classifiers,
    network_inputs,
)
from inbox_agent.stages.categorize import categorize, parse_why_line, why_line
from inbox_agent.stages.category_model import model_verdict
from inbox_agent.stages.features import mail_features

DATA = Path(__file__).resolve().parent / "data"
GENERIC = default_rules().categorizer.generic_tokens


@pytest.fixture(scope="module")
def small_fit() -> tuple:
    """A linear model, its network as scikit-learn fitted it and as exported, and some
    held-out mails: fitted on a slice of the training part (seconds)."""
    corpus = load_corpus(DATA, corrections_file=None)
    examples = list(corpus.training)[::15]
    recipe = replace(Recipe(), hidden=8, network_passes=8)
    model = replace(_fit_weights(examples, GENERIC, recipe), temperature=0.5)
    (fitted,), inputs = fit_network_classifiers(model, examples, GENERIC, recipe)
    (w1, w2), (b1, b2) = fitted.coefs_, fitted.intercepts_
    network = SecondOpinion.fitted(inputs, w1, b1, w2, b2, 1.3).bind(len(model.table))
    assert network == _fit_network(model, examples, GENERIC, recipe, 1.3)  # what train exports
    return model, network, fitted, list(corpus.heldout)[::20]


def test_the_exported_network_decides_as_scikit_learn_fitted_it(small_fit: tuple) -> None:
    model, network, fitted, mails = small_fit
    # scikit-learn asked about the mail vectors the daemon builds; ours differs only by
    # the first layer's rounding to 8-bit codes.
    expected = fitted.predict_proba(network_inputs(_mail_matrix(model, mails, GENERIC), network.inputs))
    assert list(fitted.classes_) == list(model.classes)
    for row, mail in enumerate(mails):
        verdict = model_verdict(model, mail_features(mail.subject, mail.text, GENERIC))
        assert np.allclose(network.class_probabilities(verdict.mail), expected[row], atol=2e-3)
    assert len(mails) > 100


def test_networks_from_several_random_starts_decide_as_their_average(small_fit: tuple) -> None:
    # ``Recipe.networks`` > 1: kept as one wider network whose outputs are the mean of
    # theirs, i.e. the softmax of the mean of each one's log-probabilities as
    # scikit-learn computes them.
    model, _, _, mails = small_fit
    corpus = load_corpus(DATA, corrections_file=None)
    examples = list(corpus.training)[::15]
    recipe = replace(Recipe(), hidden=8, network_passes=8, networks=3)
    fitted, inputs = fit_network_classifiers(model, examples, GENERIC, recipe)
    network = _fit_network(model, examples, GENERIC, recipe, 1.3)
    assert network.w1.shape == (len(inputs), 24) and network.w2.shape == (24, len(model.classes))
    assert len({tuple(np.round(f.coefs_[1][0], 6)) for f in fitted}) == 3  # three different starts
    vectors = network_inputs(_mail_matrix(model, mails, GENERIC), inputs)
    mean_log = np.mean([np.log(np.maximum(f.predict_proba(vectors), 1e-300)) for f in fitted], axis=0)
    expected = np.exp(mean_log - mean_log.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    for row, mail in enumerate(mails):
        verdict = model_verdict(model, mail_features(mail.subject, mail.text, GENERIC))
        assert np.allclose(network.class_probabilities(verdict.mail), expected[row], atol=2e-3)
    again = parse_model(model_to_json(replace(model, network=network)), "copy")
    assert again.network == network  # the file needs nothing new: it is one network


def test_the_first_layer_reads_only_ngrams_seen_in_two_training_mails(small_fit: tuple) -> None:
    model, network, _, _ = small_fit
    assert 0 < len(network.inputs) < len(model.table)
    assert network.w1.dtype == np.int8 and network.w1.shape == (len(network.inputs), 8)
    assert list(network.position[network.inputs]) == list(range(len(network.inputs)))
    assert (network.position >= 0).sum() == len(network.inputs)


@given(st.lists(st.lists(st.floats(-8, 8, width=32), min_size=4, max_size=4), min_size=1, max_size=6))
def test_eight_bit_codes_are_within_half_a_step_of_every_weight(rows: list[list[float]]) -> None:
    layer = np.array(rows, dtype=np.float32)  # inputs x 4 hidden units
    codes, scale = eight_bit(layer)
    assert codes.dtype == np.int8 and int(np.abs(codes).max(initial=0)) <= 127
    assert scale.shape == (4,) and bool((scale > 0).all())
    assert bool((np.abs(codes * scale - layer) <= scale / 2 * 1.0001 + 1e-12).all())
    # A unit's largest weight takes the whole range: no step is wider than it must be
    # (a unit of zeros, or of weights below a 32-bit step, is all code 0).
    used = np.abs(codes).max(axis=0) == 127
    assert list(used) == list(np.abs(layer).max(axis=0) / 127 >= np.finfo(np.float32).tiny)


def test_a_model_with_a_network_is_format_6_and_reads_back_the_same(small_fit: tuple) -> None:
    model, network, _, mails = small_fit
    paired = replace(model, network=network)
    text = model_to_json(paired)
    assert json.loads(text)["format"] == 6
    assert json.loads(text)["char_ngrams"] == {"chinese": [3], "latin": [4]} == CHAR_GRAMS.to_file()
    assert json.loads(text)["network"]["w1"]["dtype"] == "<i1"
    again = parse_model(text, "copy")
    assert again.network == network
    assert again.network is not None and again.network.blend_temperature == 1.3
    rules, reread = rules_for(default_rules(), paired), rules_for(default_rules(), again)
    for mail in mails:
        assert categorize(mail.subject, mail.text, rules) == categorize(mail.subject, mail.text, reread)


def test_a_format_4_model_with_a_16_bit_layer_is_read_and_kept_as_it_was(small_fit: tuple) -> None:
    # An older release wrote its first layer as 16-bit floats, no scale: an applied
    # model of that release still decides as it did (and --rollback can go back to it).
    model, network, fitted, mails = small_fit
    half = fitted.coefs_[0].astype(np.float16)
    older = SecondOpinion(network.inputs, half, np.ones(8), network.b1, network.w2, network.b2, 1.3)
    text = model_to_json(replace(model, network=older.bind(len(model.table))))
    data = json.loads(text)
    assert data["network"]["w1"]["dtype"] == "<f2" and "w1_scale" not in data["network"]
    again = parse_model(text, "older")
    assert again.network == older and again.network is not None and not again.network.eight_bit
    assert model_to_json(again) == text
    # As that release wrote it: format 4, no char_ngrams (its n-grams: the legacy ones).
    del data["char_ngrams"]
    as_written = parse_model(json.dumps(data | {"format": 4}), "format 4")
    assert as_written == replace(again, char_grams=LEGACY_CHAR_GRAMS)
    assert as_written.network is not None and not as_written.network.eight_bit
    rules, paired = (
        rules_for(default_rules(), again),
        rules_for(default_rules(), replace(model, network=network)),
    )
    same = sum(
        categorize(m.subject, m.text, rules).category == categorize(m.subject, m.text, paired).category
        for m in mails
    )
    assert same >= len(mails) - 1  # 16-bit and 8-bit layers: the same decisions


def test_a_model_without_a_network_has_no_network_section_and_decides_alone(small_fit: tuple) -> None:
    model, network, _, mails = small_fit
    text = model_to_json(model)
    assert json.loads(text)["format"] == 6 and "network" not in json.loads(text)
    assert parse_model(text, "again") == model
    alone = rules_for(default_rules(), parse_model(text, "old"))
    paired = rules_for(default_rules(), replace(model, network=network))
    differ = 0
    for mail in mails:
        mine, theirs = categorize(mail.subject, mail.text, alone), categorize(mail.subject, mail.text, paired)
        assert mine.second_opinion == () and theirs.second_opinion
        differ += mine.confidence != theirs.confidence
    assert differ > len(mails) // 2  # the network takes part in every decision it is in


def _broken(section: dict) -> str:
    data = json.loads(model_to_json(replace(shipped_model(), network=None)))
    network = json.loads(model_to_json(shipped_model())).get("network")
    assert network, "the shipped model has a second opinion"
    return json.dumps(data | {"format": 5, "network": network | section})


def _packed(dtype: str, values: list[float]) -> dict:
    import base64
    import zlib

    data = np.array(values, dtype=dtype).tobytes()
    return {
        "dtype": dtype,
        "length": len(values),
        "zlib_base64": base64.b64encode(zlib.compress(data)).decode(),
    }


@pytest.mark.parametrize(
    ("section", "reason"),
    [
        ({"hidden": 0}, "network.hidden: must be a whole number > 0"),
        ({"blend_temperature": 0}, "network.blend_temperature: must be > 0"),
        ({"blend_temperature": "1"}, "network.blend_temperature: must be a number"),
        ({"w1": _packed("<f4", [0.5])}, "network.w1: dtype must be one of <i1"),
        ({"w1_scale": _packed("<f4", [0.5])}, "network.w1_scale: must be 64 numbers > 0"),
        ({"w1_scale": _packed("<f4", [0.0] * 64)}, "network.w1_scale: must be 64 numbers > 0"),
        ({"b2": _packed("<f4", [0.5])}, "network.w2, b2: must be"),
        ({"inputs": _packed("<i4", [3, 2])}, "network.w1, w2: must hold"),
        ({"extra": 1}, "network: must hold b1, b2"),
        ({"w1_scale": None}, "network.w1_scale: must be a packed array"),
    ],
)
def test_a_broken_network_section_says_what_is_wrong(section: dict, reason: str) -> None:
    with pytest.raises(ModelFileError, match=reason) as raised:
        parse_model(_broken(section), "models/model-x.json")
    assert "models/model-x.json" in str(raised.value)


def test_network_inputs_out_of_order_or_range_or_nan_weights_are_refused() -> None:
    network = shipped_model().network
    assert network is not None
    rows = network.inputs.tolist()
    swapped = [rows[1], rows[0], *rows[2:]]
    beyond = [*rows[:-1], len(shipped_model().table)]
    for inputs in (swapped, beyond):
        with pytest.raises(ModelFileError, match="network.inputs: must be table rows, in order, each once"):
            parse_model(_broken({"inputs": _packed("<i4", inputs)}), "m.json")
    b1 = network.b1.tolist()
    with pytest.raises(ModelFileError, match="network: weights must be finite numbers"):
        parse_model(_broken({"b1": _packed("<f4", [float("nan"), *b1[1:]])}), "m.json")


def test_the_shipped_model_has_a_second_opinion_and_shows_it() -> None:
    model = shipped_model()
    recipe = model.training["recipe"]  # networks averaged are kept as one: units side by side
    assert model.network is not None and model.network.hidden == recipe["hidden"] * recipe.get("networks", 1)
    result = categorize("提现没到账", "三天前提现的钱到现在还没到账，一直显示处理中。", default_rules())
    assert result.category == "funds_not_received"
    assert result.second_opinion and result.second_opinion[0][0] == "funds_not_received"
    assert 0.5 < result.second_opinion[0][1] <= 1.0
    why = parse_why_line("by x; category funds_not_received; " + why_line(result))
    assert why.second_opinion == result.second_opinion
    assert [name for name, _ in why.features] == [name for name, _ in result.explanation]


def test_a_disagreeing_second_opinion_names_both_categories() -> None:
    # Whichever way the network leans, the decided category's share is shown with its top one.
    rules = default_rules()
    for text in ("I was charged twice but also my account is locked", "the app is slow and nobody answers"):
        result = categorize("", text, rules)
        shown = [category for category, _ in result.second_opinion]
        assert shown[0] == max(shown, key=dict(result.second_opinion).__getitem__)
        assert result.categories[0] in shown or result.needs_triage
        assert len(shown) == len(set(shown)) <= 2


def test_a_forged_second_opinion_segment_in_the_detail_is_not_a_category() -> None:
    why = parse_why_line("by x; second opinion <script> 0.99, security 0.5")
    assert why.second_opinion == (("security", 0.5),)


def test_classify_json_shows_the_second_opinion(tmp_path: Path) -> None:
    # show, show --json and the staff page: tests/test_categorize_explain.py; the web app's
    # case page reads the same lines (views/explanation.py).
    config = write_config(tmp_path)
    mail = tmp_path / "mail.eml"
    mail.write_bytes(
        complaint("li@customer.example", "double charge", "You charged my card twice for one order.")
    )
    data = json.loads(cli(config, "classify", "--json", str(mail)).stdout)
    assert data["category"] == "wrong_charge"
    assert data["second_opinion"][0]["category"] == "wrong_charge"
    assert 0 < data["second_opinion"][0]["probability"] <= 1


def test_ops_can_leave_the_second_opinion_out_of_the_decision(small_fit: tuple) -> None:
    model, network, _, mails = small_fit
    rules = rules_for(default_rules(), replace(model, network=network))
    off = replace(rules, categorizer=replace(rules.categorizer, second_opinion=False))
    alone = rules_for(default_rules(), model)
    for mail in mails[:40]:
        decided = categorize(mail.subject, mail.text, off)
        assert decided == categorize(mail.subject, mail.text, alone) and decided.second_opinion == ()
    errors: list[str] = []
    settings = load_categorizer({"second_opinion": True}, {"second_opinion": "no"}, errors)
    assert errors == ["categorizer.second_opinion: must be true or false"] and settings.second_opinion
    assert load_categorizer({}, {"second_opinion": False}, []).second_opinion is False
