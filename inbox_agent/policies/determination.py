"""How staff decided a complaint when they resolve it, and what was paid back. Pure.

A complaints officer's final response states the decision, and a complaints return
counts it: how many complaints were upheld, in part or not, and the redress paid.
Staff give it with the resolution: ``#resolve upheld redress 25.00 CNY`` on the first
line of a staff mail, ``inbox-agent resolve CASE --determination upheld --redress
"25.00 CNY"``, or the web app's resolve form. ``[regulatory] require_determination``
makes it compulsory.
"""

from __future__ import annotations

import re

from inbox_agent.domain.model import DETERMINATIONS

# Words staff type after "#resolve", each a determination.
_SPOKEN = {
    "upheld": "upheld",
    "partly upheld": "partly_upheld",
    "partially upheld": "partly_upheld",
    "partly_upheld": "partly_upheld",
    "not upheld": "not_upheld",
    "not_upheld": "not_upheld",
    "rejected": "not_upheld",
    "withdrawn": "withdrawn",
}
_LEADING = re.compile(
    r"^\s*(?P<words>partly[ _]upheld|partially[ _]upheld|not[ _]upheld|upheld|rejected|withdrawn)\b", re.I
)
# "redress 25 CNY", "redress: CNY 25"; a bare "redress 25" is taken too, so that the
# missing currency is refused by name rather than the words sent on as the summary.
_REDRESS_WORD = re.compile(
    r"^[\s,;]*redress\s*[:=]?\s*(?P<amount>[A-Za-z]{3}\s*[\d.,]+|[\d.,]+(?:\s*[A-Za-z]{3}\b)?)", re.I
)
_AMOUNT = re.compile(
    r"^\s*(?:(?P<pre>[A-Za-z]{3})\s*)?(?P<number>\d{1,12}(?:,\d{3})*(?:\.\d{1,2})?)\s*(?P<post>[A-Za-z]{3})?\s*$"
)
REDRESS_WITH = ("upheld", "partly_upheld")


def split_determination(argument: str) -> tuple[str, str, str]:
    """``(determination, redress, the rest)`` of what follows ``#resolve`` on its line:
    "upheld redress 25 CNY: refunded" → ("upheld", "25 CNY", "refunded"). Text that does
    not start with a determination is all "the rest"."""
    found = _LEADING.match(argument)
    if found is None:
        return "", "", argument
    determination = _SPOKEN[re.sub(r"[ _]+", " ", found.group("words").lower())]
    rest = argument[found.end() :]
    redress = _REDRESS_WORD.match(rest)
    if redress is not None:
        rest = rest[redress.end() :]
    return determination, redress.group("amount") if redress else "", rest.lstrip(" \t:;,-")


def canonical_determination(value: str) -> str:
    """A determination as typed ("partly upheld", "Not_Upheld") as its id; "" stays ""."""
    spoken = re.sub(r"[ _]+", " ", value.strip().lower())
    return _SPOKEN.get(spoken, spoken.replace(" ", "_"))


def redress_text(value: str) -> str:
    """A redress amount as recorded: "25 cny", "CNY 25" → "25.00 CNY"; ValueError when
    it is not an amount with its three-letter currency."""
    found = _AMOUNT.match(value)
    currency = (found.group("pre") or found.group("post") or "") if found else ""
    if found is None or not currency or (found.group("pre") and found.group("post")):
        raise ValueError(
            f"redress {value.strip()[:40]!r} is not an amount with its currency, such as 25.00 CNY"
        )
    amount = float(found.group("number").replace(",", ""))
    return f"{amount:.2f} {currency.upper()}"


def determination_problem(determination: str, redress: str, *, required: bool) -> str:
    """What is wrong with a resolution's determination and redress; "" when nothing."""
    if not determination:
        if required:
            return f"resolving needs a determination ({', '.join(DETERMINATIONS)}): [regulatory] require_determination"
        return "redress needs a determination (upheld or partly_upheld)" if redress else ""
    if determination not in DETERMINATIONS:
        return f"unknown determination {determination[:40]!r} (one of: {', '.join(DETERMINATIONS)})"
    if redress and determination not in REDRESS_WITH:
        return f"redress is paid on an upheld complaint, not a {determination.replace('_', ' ')} one"
    if redress:
        try:
            redress_text(redress)
        except ValueError as exc:
            return str(exc)
    return ""


def determination_words(determination: str, redress: str) -> str:
    """ "upheld; redress 25.00 CNY" for the case's event; "" without a determination."""
    if not determination:
        return ""
    words = determination.replace("_", " ")
    return f"{words}; redress {redress_text(redress)}" if redress else words
