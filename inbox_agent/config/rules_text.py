"""The canonical form terms and mail text are compared in (pure).

NFKC (full-width to half-width), case-folded, Traditional Chinese folded to
Simplified for the characters complaint words use, English words lightly stemmed,
and every token (a stemmed word, a number, or a single CJK character) separated by
one space. Used by the curated rules (``rules.py``), the model's features
(``stages/features.py``) and evidence extraction.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Traditional -> Simplified for the characters that occur in complaint vocabulary.
# A full converter (OpenCC) would be a large dependency for a few dozen characters;
# the terms in default_rules.toml are written in Simplified and this table makes
# their Traditional spellings match too.
_FOLDING_PAIRS = (
    "並并 來来 係系 個个 們们 備备 傳传 價价 億亿 償偿 儲储 兩两 凍冻 劉刘 務务 匯汇 員员 問问 啟启 單单 "
    "嗎吗 圖图 報报 實实 審审 將将 專专 對对 帐账 帳账 帶带 幣币 幾几 張张 後后 從从 復复 態态 憂忧 應应 "
    "戶户 換换 損损 撥拨 擊击 擋挡 擔担 據据 擬拟 擾扰 攔拦 敗败 時时 會会 條条 樣样 機机 權权 歸归 決决 "
    "沒没 洩泄 準准 滿满 灣湾 為为 無无 現现 產产 異异 當当 發发 盜盗 確确 碼码 稱称 筆笔 簡简 紀纪 細细 "
    "紹绍 終终 結结 絡络 給给 統统 經经 網网 緊紧 線线 總总 繫系 聯联 聽听 臺台 與与 興兴 萬万 處处 號号 "
    "補补 裝装 覆复 見见 覺觉 訂订 訊讯 記记 設设 許许 詐诈 詢询 話话 該该 詳详 認认 誤误 說说 請请 謝谢 "
    "證证 讓让 買买 費费 資资 賠赔 賣卖 賬账 購购 轉转 辦办 這这 週周 進进 過过 達达 遞递 還还 邊边 郵邮 "
    "銷销 錄录 錢钱 錯错 鎖锁 鐘钟 門门 閉闭 開开 間间 關关 陳陈 際际 隨随 險险 隱隐 難难 電电 頁页 項项 "
    "題题 額额 顯显 風风 餘余 騙骗 騷骚 驗验 麼么 點点 齊齐 編编 刪删 媽妈 爾尔 夥伙 護护 "
    "銀银 綁绑 氣气 夠够 優优 級级 臉脸 國国 續续 裡里 幫帮 暫暂 註注 "
)
TRADITIONAL_TO_SIMPLIFIED = str.maketrans({pair[0]: pair[1] for pair in _FOLDING_PAIRS.split()})

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[a-z0-9]+(?:'[a-z]+)?")
_CONTRACTIONS = {"can't": "can not", "cannot": "can not", "won't": "will not", "shan't": "shall not"}


def stem(word: str) -> str:
    """A light English stemmer: charged/charges/charging/charge -> charg.

    Deliberately crude and predictable (ops write terms in plain English and the same
    function is applied to both sides), not a linguistic stemmer.
    """
    if not word.isalpha() or len(word) <= 3:
        return word
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith(("ed", "es")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith("ss") and not word.endswith("us"):
        word = word[:-1]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


# The stem of a word never changes, and mail repeats its words: the curated terms'
# canonical form and the model's features stem every word of every mail.
cached_stem = lru_cache(maxsize=1 << 16)(stem)


# The categorizer folds the same subject and text twice (the curated terms' canonical
# form, the model's features), one right after the other.
@lru_cache(maxsize=4)
def fold(text: str) -> str:
    """NFKC (full-width to half-width), case-fold, Traditional to Simplified."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.replace("\u2019", "'").translate(TRADITIONAL_TO_SIMPLIFIED)


@lru_cache(maxsize=1 << 16)
def _canonical_token(raw: str) -> str:
    """One raw token in canonical form; a contraction gives two, space-separated."""
    if raw in _CONTRACTIONS:
        return _CONTRACTIONS[raw]
    if raw.endswith("n't"):
        return f"{raw[:-3]} not"
    if raw.endswith("'s"):
        return stem(raw[:-2])
    return stem(raw.replace("'", ""))


def tokens(text: str) -> list[str]:
    """The canonical tokens of ``text``: stemmed words, numbers, single CJK characters."""
    result: list[str] = []
    for raw in _TOKEN.findall(fold(text)):
        if raw in _CONTRACTIONS:
            result.extend(_CONTRACTIONS[raw].split())
        elif raw.endswith("n't"):
            result.extend((raw[:-3], "not"))
        elif raw.endswith("'s"):
            result.append(cached_stem(raw[:-2]))
        else:
            result.append(cached_stem(raw.replace("'", "")))
    return result


def canonical(text: str) -> str:
    """Tokens joined by single spaces, padded: ``" charg twice "``.

    The padding makes ``f" {term} " in text`` a match on token boundaries.
    """
    # Mail repeats its words: each distinct token is canonicalised once (cached).
    return " " + " ".join(map(_canonical_token, _TOKEN.findall(fold(text)))) + " "
