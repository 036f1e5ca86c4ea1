"""Every decision explained on the case (issue 13): ``show``, ``show --json`` and the
staff page carry the confidence, the deciding n-grams, the curated terms and triage."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import cli, complaint, write_config
from hypothesis import given
from hypothesis import strategies as st

from inbox_agent.domain.model import Categorization
from inbox_agent.stages.categorize import parse_why_line, why_line

# Feature names as stages/features.py forms them: a kind, then tokens (letters,
# digits, CJK) and single spaces; no punctuation ever makes a token.
_TOKEN = st.text(alphabet="abcxyz019冻结账户", min_size=1, max_size=4)
_FEATURE = st.builds(
    lambda kind, parts: kind + " ".join(parts),
    st.sampled_from(["w:", "b:", "c:"]),
    st.lists(_TOKEN, min_size=1, max_size=2),
)


@given(
    features=st.lists(st.tuples(_FEATURE, st.floats(-5, 5).map(lambda w: round(w, 2))), max_size=6),
    confidence=st.floats(0, 1).map(lambda c: round(c, 2)),
    guess=st.sampled_from(["", "security", "privacy"]),
    sender=st.text(max_size=30),
    opinion=st.lists(
        st.tuples(
            st.sampled_from(["security", "wrong_charge", "other"]), st.floats(0, 1).map(lambda p: round(p, 2))
        ),
        max_size=2,
        unique_by=lambda pair: pair[0],
    ),
)
def test_the_line_on_the_event_reads_back_as_it_was_decided(
    features: list[tuple[str, float]], confidence: float, guess: str, sender: str, opinion: list
) -> None:
    result = Categorization(
        category="other" if guess else "wrong_charge",
        categories=("other",),
        confidence=confidence,
        matched=(("wrong_charge", "charged twice"),),
        severity="normal",
        explanation=tuple(features),
        needs_triage=bool(guess),
        guess=guess,
        model_version="v1",
        second_opinion=tuple(opinion),
    )
    # As acknowledge.open_case writes it: the sender first, whatever it holds.
    read = parse_why_line(f"by {sender}; category {result.category}; {why_line(result)}")
    assert read.confidence == confidence
    assert read.features == tuple(features)
    assert (read.needs_triage, read.guess, read.model_version) == (bool(guess), guess, "v1")
    assert read.second_opinion == tuple(opinion)


def test_show_and_the_page_explain_the_category(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    maildir = tmp_path / "maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    body = "I was charged twice for the same order, 45.00 both times. Please refund one of them."
    (maildir / "new" / "1.mail").write_bytes(complaint("ana@customer.example", "double charge", body))
    assert cli(config, "run", "--once").returncode == 0
    case_id = json.loads(cli(config, "cases", "--json").stdout)[0]["case_id"]

    shown = json.loads(cli(config, "show", case_id, "--json").stdout)
    explanation = shown["explanation"]
    assert explanation["category"] == shown["category"] == "wrong_charge"
    assert 0 < explanation["confidence"] <= 1 and explanation["model"]
    assert explanation["features"] and all(f["weight"] > 0 for f in explanation["features"])
    assert {"category": "wrong_charge", "term": "charged twice"} in explanation["terms"]
    # The network's share, beside the n-grams (which explain the linear part).
    assert explanation["second_opinion"][0]["category"] == "wrong_charge"
    assert 0.5 < explanation["second_opinion"][0]["probability"] <= 1

    text = cli(config, "show", case_id).stdout
    assert "why wrong_charge: confidence" in text and "n-grams:" in text and "curated terms:" in text
    assert "second opinion (the network beside the n-grams): wrong_charge" in text
    top = explanation["features"][0]["feature"]

    page = tmp_path / "page.html"
    assert cli(config, "report", "--html", str(page)).returncode == 0
    html = page.read_text(encoding="utf-8")
    assert "Why this category" in html and "curated terms: wrong_charge:charged twice" in html
    assert "second opinion (the network beside the n-grams): wrong_charge" in html
    assert repr(top).replace("'", "&#39;") in html or repr(top) in html
