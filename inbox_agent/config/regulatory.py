"""``[regulatory]``: which jurisdiction a case falls under, its clocks and calendars.

The presets (``domain.jurisdiction_presets``) are the starting point; every table under
``[regulatory.jurisdiction.KEY]`` or ``[regulatory.calendar.NAME]`` overrides a preset's
fields or defines a new one. A calendar in use that does not cover the current year
is a configuration error here, before the daemon computes a single deadline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inbox_agent.config.reader import Section
from inbox_agent.domain.calendar import CalendarNotCovered, WorkCalendar
from inbox_agent.domain.calendar_sources import source_problem
from inbox_agent.domain.jurisdiction import CLOCKS, ClockRule, Jurisdiction, NextStep, parse_clock_rule
from inbox_agent.domain.jurisdiction_presets import PRESET_CALENDARS, PRESET_JURISDICTIONS
from inbox_agent.domain.languages import REPLY_LANGUAGES, SIMPLIFIED_CHINESE, is_chinese

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as config.records
NEXT_STEP_KINDS: tuple[str, ...] = ("internal", "platform", "regulator", "police", "legal", "other")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class JurisdictionRule:
    """Cases matching every given field get ``jurisdiction``; the first rule that matches wins."""

    jurisdiction: str
    recipient: str = ""  # the address the complaint was sent to (To/Cc)
    domain: str = ""  # the customer's mail domain
    # "zh" (any Chinese mail: Traditional mail was "zh" before it had replies of its
    # own, and a rule written then must keep its cases), "zh-Hant" (Traditional only;
    # put it before a "zh" rule), "en".
    language: str = ""

    def matches(self, sender: str, recipients: tuple[str, ...], language: str) -> bool:
        if self.recipient and self.recipient not in recipients:
            return False
        if self.domain and not sender.endswith("@" + self.domain):
            return False
        if self.language == SIMPLIFIED_CHINESE:
            return is_chinese(language)
        return not (self.language and self.language != language)


@dataclass(frozen=True)
class RegulatorySettings:
    default: str = ""  # "" = no regulatory clocks unless a rule matches
    rules: tuple[JurisdictionRule, ...] = ()
    jurisdictions: Mapping[str, Jurisdiction] = field(default_factory=lambda: dict(PRESET_JURISDICTIONS))
    calendars: Mapping[str, WorkCalendar] = field(default_factory=lambda: dict(PRESET_CALENDARS))
    escalate_before: float = 2 * 86400.0  # escalate this long before a regulatory deadline
    escalate_to: str = ""  # escalation level notified ahead of a deadline; "" = the highest
    holding_reply: bool = True  # send the holding reply at the holding point
    # Resolving a case needs a determination (upheld, partly_upheld, not_upheld,
    # withdrawn: policies/determination.py), as a complaints return counts them.
    require_determination: bool = False

    def jurisdiction_for(self, sender: str, recipients: tuple[str, ...], language: str) -> str:
        for rule in self.rules:
            if rule.matches(sender.lower(), tuple(r.lower() for r in recipients), language):
                return rule.jurisdiction
        return self.default

    def lookup(self, key: str) -> tuple[Jurisdiction, WorkCalendar] | None:
        jurisdiction = self.jurisdictions.get(key)
        if jurisdiction is None:
            return None
        return jurisdiction, self.calendars[jurisdiction.calendar]


def regulatory_settings(section: Section, today: date | None = None) -> RegulatorySettings:
    calendars = dict(PRESET_CALENDARS)
    cal_section = section.sub("calendar")
    for name in list(cal_section.data):
        calendars[name] = _calendar(cal_section.sub(name), calendars.get(name, WorkCalendar(name=name)))
    cal_section.finish()
    jurisdictions = dict(PRESET_JURISDICTIONS)
    jur_section = section.sub("jurisdiction")
    for key in list(jur_section.data):
        jurisdictions[key] = _jurisdiction(jur_section.sub(key), key, jurisdictions.get(key), calendars)
    jur_section.finish()
    rules = _rules(section, jurisdictions)
    default = section.str_("default", "")
    if default and default not in jurisdictions:
        section.errors.append(
            f"{section.path}.default: unknown jurisdiction {default!r} (known: {', '.join(sorted(jurisdictions))})"
        )
        default = ""
    settings = RegulatorySettings(
        default=default,
        rules=rules,
        jurisdictions=jurisdictions,
        calendars=calendars,
        escalate_before=section.duration("escalate_before", 2 * 86400.0),
        escalate_to=section.str_("escalate_to", ""),
        holding_reply=section.bool_("holding_reply", True),
        require_determination=section.bool_("require_determination", False),
    )
    section.finish()
    _check_coverage(settings, section, today or datetime.now(UTC).date())
    return settings


def _check_coverage(settings: RegulatorySettings, section: Section, today: date) -> None:
    """Every calendar a case can get must know the current year: fail at start, loudly."""
    used = {settings.default, *(rule.jurisdiction for rule in settings.rules)} - {""}
    for key in sorted(used):
        found = settings.lookup(key)
        if found is None:
            continue
        try:
            found[1].check_year(today.year)
        except CalendarNotCovered as exc:
            section.errors.append(f"{section.path}: jurisdiction {key}: {exc}")


def _rules(section: Section, jurisdictions: Mapping[str, Jurisdiction]) -> tuple[JurisdictionRule, ...]:
    raw = section.raw("rule", [])
    if not isinstance(raw, list):
        section.errors.append(f"{section.path}.rule: expected [[regulatory.rule]] tables")
        return ()
    rules: list[JurisdictionRule] = []
    for number, item in enumerate(raw, start=1):
        sub = Section(item, f"{section.path}.rule[{number}]", section.errors, section.base_dir)
        rule = JurisdictionRule(
            jurisdiction=sub.str_("jurisdiction", ""),
            recipient=sub.email("recipient", ""),
            domain=sub.str_("domain", "").strip().lower().lstrip("@"),
            language=sub.choice("language", "", ("", *REPLY_LANGUAGES)),
        )
        sub.finish()
        if rule.jurisdiction not in jurisdictions:
            section.errors.append(f"{sub.path}.jurisdiction: unknown jurisdiction {rule.jurisdiction!r}")
            continue
        if not (rule.recipient or rule.domain or rule.language):
            section.errors.append(f"{sub.path}: give recipient, domain or language")
            continue
        rules.append(rule)
    return tuple(rules)


def _jurisdiction(
    section: Section, key: str, base: Jurisdiction | None, calendars: Mapping[str, WorkCalendar]
) -> Jurisdiction:
    clocks: dict[str, ClockRule] = dict(base.clocks) if base else {}
    for clock in CLOCKS:
        if section.has(clock):
            value = section.str_(clock, "")
            if value in ("", "none"):
                clocks.pop(clock, None)
                continue
            try:
                clocks[clock] = parse_clock_rule(value)
            except ValueError as exc:
                section.errors.append(f"{section.path}.{clock}: {exc}")
    calendar = section.str_("calendar", base.calendar if base else "utc")
    if calendar not in calendars:
        section.errors.append(f"{section.path}.calendar: unknown calendar {calendar!r}")
        calendar = "utc"
    if "final" not in clocks:
        section.errors.append(f"{section.path}: a jurisdiction needs at least a final clock")
    result = Jurisdiction(
        key=key,
        title=section.str_("title", base.title if base else key),
        source=section.str_("source", base.source if base else "configured"),
        calendar=calendar,
        clocks=clocks,
        next_steps=_next_steps(section),
        extension=base.extension if base else None,
    )
    section.finish()
    return result


def _next_steps(section: Section) -> tuple[NextStep, ...]:
    raw = section.raw("next_step", [])
    if not isinstance(raw, list):
        section.errors.append(f"{section.path}.next_step: expected [[...next_step]] tables")
        return ()
    steps: list[NextStep] = []
    for number, item in enumerate(raw, start=1):
        sub = Section(item, f"{section.path}.next_step[{number}]", section.errors, section.base_dir)
        step = NextStep(
            kind=sub.choice("kind", "other", NEXT_STEP_KINDS),
            name_en=sub.str_("name_en", "").strip(),
            name_zh=sub.str_("name_zh", "").strip(),
            contact=sub.str_("contact", "").strip(),
            name_zh_hant=sub.str_("name_zh_hant", "").strip(),
        )
        sub.finish()
        if not (step.name_en or step.name_zh or step.name_zh_hant) or not step.contact:
            section.errors.append(
                f"{sub.path}: a next step needs a name (name_en/name_zh/name_zh_hant) and a contact"
            )
            continue
        steps.append(step)
    return tuple(steps)


def _calendar(section: Section, base: WorkCalendar) -> WorkCalendar:
    timezone = section.str_("timezone", base.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        section.errors.append(f"{section.path}.timezone: unknown time zone {timezone!r}")
        timezone = base.timezone
    source = section.str_("source", base.source)
    problem = source_problem(source)
    if problem:
        section.errors.append(f"{section.path}.source: {problem}")
        source = "none"
    calendar = replace(
        base,
        timezone=timezone,
        source=source,
        windows=_windows(section, base.windows),
        weekend=_weekend(section, base.weekend),
        holidays=base.holidays | _dates(section, "holidays"),
        workdays=base.workdays | _dates(section, "workdays"),
        declared_years=base.declared_years | frozenset(_years(section)),
    )
    section.finish()
    return calendar


def _windows(section: Section, default: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    if not section.has("hours"):
        return default
    windows: list[tuple[int, int]] = []
    for text in section.str_list("hours"):
        match = _WINDOW.match(text)
        start = end = 0
        if match:
            sh, sm, eh, em = (int(part) for part in match.groups())
            start, end = sh * 60 + sm, eh * 60 + em
        previous_end = windows[-1][1] if windows else -1
        if not match or sm >= 60 or em >= 60 or not (previous_end <= start < end <= 24 * 60):
            section.errors.append(
                f'{section.path}.hours: expected ["HH:MM-HH:MM", ...] in order, not overlapping; got {text!r}'
            )
            continue
        windows.append((start, end))
    return tuple(windows) or default


def _weekend(section: Section, default: frozenset[int]) -> frozenset[int]:
    if not section.has("weekend"):
        return default
    days: set[int] = set()
    for name in section.str_list("weekend"):
        key = name.strip().lower()[:3]
        if key not in WEEKDAYS:
            section.errors.append(f"{section.path}.weekend: unknown day {name!r}")
            continue
        days.add(WEEKDAYS.index(key))
    return frozenset(days)


def _dates(section: Section, key: str) -> frozenset[date]:
    raw = section.raw(key, [])
    if not isinstance(raw, list):
        section.errors.append(f"{section.path}.{key}: expected a list of dates (YYYY-MM-DD)")
        return frozenset()
    days: set[date] = set()
    for item in raw:
        try:
            days.add(item if isinstance(item, date) else date.fromisoformat(str(item)))
        except ValueError:
            section.errors.append(f"{section.path}.{key}: expected YYYY-MM-DD, got {item!r}")
    return frozenset(days)


def _years(section: Section) -> list[int]:
    raw = section.raw("declared_years", [])
    if not isinstance(raw, list) or not all(isinstance(y, int) and 1970 <= y <= 2200 for y in raw):
        section.errors.append(f"{section.path}.declared_years: expected a list of years such as [2027]")
        return []
    return list(raw)
