"""Boilerplate that mail systems add below what the sender wrote: legal disclaimers and
"Sent from my iPhone" lines (pure).

A corporate disclaimer is often longer than the complaint above it and made of one
category's words ("confidential", "disclosure", "unauthorised", "personal data": privacy).
Left in, it turned 16 of 60 short complaints (10 complaints, 6 footers, English and
Chinese) into privacy complaints, and an English disclaimer under a Chinese complaint
could make the reply English. The footer is cut from its first line to the end of the
part; never on the first line, and never when nothing written would remain.

The openers are specific on purpose: a customer who writes "you disclosed my data,
which is prohibited" is complaining, and no line of theirs starts like "This email
and any attachments are confidential".
"""

from __future__ import annotations

import re

_DISCLAIMER_OPENER = re.compile(
    r"""^\W{0,5}(?:
      (?:confidentiality|privacy|legal|e-?mail)\s+(?:notice|disclaimer|statement|warning)
    | (?:important\s+)?disclaimer\s*[:：]
    | this\s+(?:e-?mail|message|communication)(?:\s+message)?
        (?:\s*\(?(?:and|including)\s+any\s+(?:attachments?|files?)[^.]{0,40}?\)?)?
        \s+(?:is|are|may\s+contain|contains?)\s+(?:strictly\s+)?(?:confidential|privileged|intended|proprietary)
    | the\s+information\s+(?:contained\s+)?in\s+this\s+(?:e-?mail|message|communication)
    | if\s+you\s+(?:are\s+not\s+the\s+(?:intended\s+)?(?:recipient|addressee)
        |have\s+received\s+this\s+(?:e-?mail|message|communication)\s+in\s+error)
    | (?:免责声明|免責聲明|保密声明|保密聲明|法律声明|法律聲明|保密提示)
    | (?:本|此)(?:电子|電子)?(?:邮件|郵件)(?:及其?(?:任何)?附件)?
        (?:含有|包含|仅|僅|只|可能|所载|所載|中的信息|中的資訊)
    | 如(?:果)?(?:您|你)(?:并非|並非|不是)(?:本(?:邮件|郵件)的?)?(?:指定|预期|預期)?收件人
    | 如(?:果)?(?:您|你)(?:错|錯|误|誤)收(?:到)?了?(?:本|此)(?:邮件|郵件)
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_SENT_FROM = re.compile(
    r"""^\W{0,3}(?:
      sent\s+from\s+my\s+\S.{0,40}
    | sent\s+from\s+(?:outlook|mail|yahoo\s+mail|gmail)\b.{0,30}
    | get\s+outlook\s+for\s+\w+
    | (?:von\s+meinem|envoy[ée]\s+de\s+mon|enviado\s+desde\s+mi|inviato\s+dal?\s+mio)\s+\S.{0,30}
    | (?:发自|發自|来自|來自)(?:我的)?\S{0,20}
        (?:iPhone|iPad|Android|手机|手機|邮箱|郵箱|客户端|客戶端|大师|大師|移动版|移動版)\S{0,10}
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)


def is_footer_line(line: str) -> bool:
    stripped = line.strip()
    return bool(_SENT_FROM.match(stripped) or _DISCLAIMER_OPENER.match(stripped))


def without_footers(text: str) -> str:
    """``text`` up to its first footer line (not counting the first line); all of it when
    nothing would be left above the footer."""
    lines = text.split("\n")
    for index in range(1, len(lines)):
        if is_footer_line(lines[index]):
            kept = "\n".join(lines[:index]).rstrip()
            return kept if kept.strip() else text
    return text
