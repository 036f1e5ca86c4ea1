"""The masker's fourth round: one-time codes as customers retell them, found by an
adversarial battery of sixty ways to write a code (each leak below got through before):
"TAC" (the transaction authorisation code of many Asian banks' SMS), "安全码" with an
app's six-digit code, "code=" (a link's query), "codes" (plural), a code in brackets a
few words after "code", a code "as the code", and what "the SMS said".

The guards hold before and after: what staff need stays readable."""

from __future__ import annotations

import pytest

from inbox_agent.domain.mask import MASKED, mask_text

# (text, the secret, what staff still read)
LEAKS = [
    ("TAC 482913", "482913", "TAC"),
    ("Your TAC is 482913, valid for 3 minutes", "482913", "valid for 3 minutes"),
    ("安全码 482913", "482913", "安全码"),
    ("code=482913", "482913", "code"),
    ("https://wallet.example/verify?code=482913&lang=en", "482913", "lang=en"),
    ("codes 482913, 913482", "913482", "codes"),
    ("The code they sent me (482913) didn't work", "482913", "didn't work"),
    ("验证 the code you sent【482913】is wrong", "482913", "is wrong"),
    ("I typed 482913 as the code", "482913", "as the code"),
    ("I entered 4829 as my PIN", "4829", "as my PIN"),
    ("the sms said 482913", "482913", "the sms"),
    ("The SMS read 482913 and then I was locked", "482913", "then I was locked"),
    ("短信里是482913", "482913", "短信"),
]


@pytest.mark.parametrize(("text", "secret", "kept"), LEAKS)
def test_a_retold_code_is_masked_and_the_rest_stays(text: str, secret: str, kept: str) -> None:
    masked = mask_text(text)
    assert secret not in masked and MASKED in masked, masked
    assert kept in masked, masked


@pytest.mark.parametrize(
    "text",
    [
        "tactic 482913",  # "tac" only as a word of its own
        "contact 482913",
        "the code for order (482913)",  # a word between names the number
        "the code of transaction (482913) failed",
        "error code=1001",  # the word before "code" makes it evidence
        "HTTP status code=200",
        "error codes 1001 and 1002",
        "the sms said 482913 元 was charged",  # an amount
        "the SMS said 2026-11-19",  # a date
        "安全码 is on the back of the card",
        "I paid 482913 as the deposit",  # "as" a payment, not a code
    ],
)
def test_what_staff_need_stays_readable(text: str) -> None:
    assert mask_text(text) == text
