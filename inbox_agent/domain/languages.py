"""The languages customers are answered in: one definition for config, replies and views.

A case's language is what ``stages.language`` detected in its first mail: "zh"
(Simplified Chinese), "zh-Hant" (Traditional Chinese, added later: cases stored before
were "zh" whatever their script) or "en". Each has its own reply templates and words.
"""

from __future__ import annotations

SIMPLIFIED_CHINESE = "zh"
TRADITIONAL_CHINESE = "zh-Hant"
ENGLISH = "en"
REPLY_LANGUAGES: tuple[str, ...] = (SIMPLIFIED_CHINESE, TRADITIONAL_CHINESE, ENGLISH)
CHINESE: tuple[str, ...] = (SIMPLIFIED_CHINESE, TRADITIONAL_CHINESE)

# As staff read them on the page, in the web app and in notifications (all in English).
_NAMES = {
    SIMPLIFIED_CHINESE: "Chinese (Simplified)",
    TRADITIONAL_CHINESE: "Chinese (Traditional)",
    ENGLISH: "English",
}
# BCP 47 tags of regions that write Traditional Chinese, lower-cased.
_TRADITIONAL_REGIONS = ("zh-tw", "zh-hk", "zh-mo")


def reply_language(language: str, default: str = ENGLISH) -> str:
    """The reply language for a language tag: "zh-Hant" (also "zh-TW", "zh-HK",
    "zh-Hant-HK"...), "zh" (also "zh-CN", "zh-Hans"...), "en" (also "en-GB"...);
    ``default`` for anything else, an empty tag included."""
    tag = language.strip().lower().replace("_", "-")
    if tag == "zh-hant" or tag.startswith(("zh-hant-", *_TRADITIONAL_REGIONS)):
        return TRADITIONAL_CHINESE
    if tag == "zh" or tag.startswith("zh-"):
        return SIMPLIFIED_CHINESE
    if tag == "en" or tag.startswith("en-"):
        return ENGLISH
    return default


def is_chinese(language: str) -> bool:
    """Simplified or Traditional: for what does not depend on the script (a
    ``[regulatory]`` rule for Chinese mail, the Chinese name of a next step)."""
    return reply_language(language, "") in CHINESE


def language_name(language: str) -> str:
    """ "Chinese (Traditional)" for "zh-Hant"; an unknown tag as it is."""
    return _NAMES.get(language, language or "unknown")
