"""What the customer did before and wants now: contact history, desired resolution.

Contact history is a ticket number or a sentence saying they already called or
wrote; the desired resolution is a list of wishes (refund, unlock, apology...)
taken only from sentences that ask for something, so a story ("the merchant
refunded me") does not count as a wish.
"""

from __future__ import annotations

import re

from inbox_agent.domain.regex_needles import could_match
from inbox_agent.stages.evidence_text import FoldedText

_TICKET = re.compile(
    r"(?P<kind>ticket|case|complaint|工单|投诉单|案件|投诉编号|受理号)\s*(?:number|no\.?|id|号|编号)?\s*"
    r"(?:is|was|为|是)?\s*[:#]?\s*(?P<id>[A-Za-z]{0,5}-?\d[A-Za-z0-9-]{3,})",
    re.I,
)
_CONTACTED = re.compile(
    r"(?:I|we)\s+(?:have\s+|had\s+|already\s+)*(?:called|contacted|phoned|emailed|e-mailed|wrote to|chatted with|"
    r"spoke (?:to|with)|talked to|reached out to|complained to)[^\n.!?]{0,80}"
    r"|(?:已经|已|之前|上次|曾经|多次|好几次|两次|三次)\s*(?:联系|致电|打电话给|打过|打了|找过|问过|投诉过|投诉|反映过|反馈过)[^\n。!！?？,，]{0,40}"
    r"|(?:联系过|投诉过|反映过|打过|打了|致电|联系了|联系|打)(?:[^\n。!！?？,，]{0,6})(?:客服|你们)[^\n。!！?？,，]{0,40}",
    re.I,
)


def find_contact_history(text: FoldedText) -> str | None:
    ticket = text.search(_TICKET)
    if ticket:
        return f"{ticket.group('kind').lower()} {text.cut_normalised(*ticket.span('id'))}"
    contacted = text.search(_CONTACTED)
    if contacted:
        return text.cut(*contacted.span()).strip()
    return None


_RESOLUTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "refund",
        re.compile(
            r"refund|reimburs|money back|return (?:me )?(?:the |my )?(?:extra |excess )?money|"
            r"退款|退钱|退回|退还|返还|还钱|退给我",
            re.I,
        ),
    ),
    ("chargeback", re.compile(r"charge-?back", re.I)),
    ("compensation", re.compile(r"compensat|赔偿|补偿", re.I)),
    (
        "unlock",
        re.compile(
            r"\bunlock|unfreeze|unblock|reactivat|restore (?:my )?access|解封|解冻|解锁|恢复(?:我的)?(?:账户|账号|使用)",
            re.I,
        ),
    ),
    ("cancel", re.compile(r"\bcancel|取消", re.I)),
    ("reverse", re.compile(r"\brevers|撤销|撤回|追回", re.I)),
    (
        "delete_data",
        re.compile(
            r"delete (?:my|all my) (?:data|information|details)|删除(?:我的)?(?:个人)?(?:信息|资料|数据)",
            re.I,
        ),
    ),
    ("apology", re.compile(r"apolog|道歉", re.I)),
    (
        "explanation",
        re.compile(r"\bexplain|explanation|tell me why|给(?:我)?(?:一个)?(?:说法|解释)|说明原因|解释", re.I),
    ),
)


# A resolution word counts only in a sentence that asks for something: "the merchant
# refunded me" tells a story, "please refund me" states a wish.
_WISH = re.compile(
    r"please|want|would like|'d like|request|demand|expect|need|asking|ask for|can you|could you|"
    r"get my money back|return me|i hope|请|要求|希望|麻烦|尽快|必须|马上|立即|帮我|能不能|能否|务必",
    re.I,
)
# "Could you check where this refund is?" asks about a refund, not for one.
_WHERE = re.compile(r"\bwhere\b|到哪|去哪|在哪", re.I)
_SENTENCE = re.compile(r"[^.!?。！？\n]+")


def find_desired_resolution(text: FoldedText) -> str | None:
    # A word the whole text cannot hold is not looked for sentence by sentence.
    if not could_match(_WISH, text.lowered):
        return None
    resolutions = [(word, pattern) for word, pattern in _RESOLUTIONS if could_match(pattern, text.lowered)]
    first_seen: dict[str, int] = {}
    for sentence in _SENTENCE.finditer(text.folded) if resolutions else ():
        if not _WISH.search(sentence.group()) or _WHERE.search(sentence.group()):
            continue
        for word, pattern in resolutions:
            match = pattern.search(sentence.group())
            if match and word not in first_seen:
                first_seen[word] = sentence.start() + match.start()
    return ", ".join(sorted(first_seen, key=first_seen.__getitem__)) or None
