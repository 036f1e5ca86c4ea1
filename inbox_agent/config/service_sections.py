"""Building the service settings: ``[storage]``, ``[acknowledge]``, ``[sla]``,
``[escalation]``, ``[staff]``, ``[report]`` and ``[logging]``.

Each builder reads its ``Section``, appends every problem to the shared error list
and returns the record with defaults where a value was unusable.
"""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inbox_agent.config.reader import EMAIL, Section, parse_duration
from inbox_agent.config.records import (
    ESCALATION_LEVELS,
    SEVERITIES,
    WEEKDAYS,
    AcknowledgeSettings,
    EscalationLevel,
    EscalationSettings,
    LoggingSettings,
    ReportSettings,
    SlaSettings,
    StaffSettings,
    StorageSettings,
)
from inbox_agent.domain.languages import ENGLISH, REPLY_LANGUAGES
from inbox_agent.domain.model import CATEGORIES


def storage_settings(section: Section) -> StorageSettings:
    settings = StorageSettings(
        data_dir=section.path_("data_dir", "data"),
        shard_size=section.int_("shard_size", 500, 10, 100000),
        lock_timeout=section.duration("lock_timeout", 30.0),
        retention_days=section.int_("retention_days", 0, 0),
    )
    section.finish()
    return settings


def acknowledge_settings(section: Section) -> AcknowledgeSettings:
    settings = AcknowledgeSettings(
        enabled=section.bool_("enabled", True),
        from_name=section.str_("from_name", "Wallet Complaints"),
        message_id_domain=section.str_("message_id_domain", ""),
        default_language=section.choice("default_language", ENGLISH, REPLY_LANGUAGES),
        per_sender_per_day=section.int_("per_sender_per_day", 5, 0),
        per_case_interval=section.duration("per_case_interval", 600.0),
        hotline=section.str_("hotline", ""),
        loop_token=section.str_("loop_token", ""),
    )
    section.finish()
    return settings


def _durations_by_key(section: Section, known: tuple[str, ...], what: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for key in list(section.data):
        if key not in known:
            section.errors.append(f"{section.path}.{key}: unknown {what} (known: {', '.join(known)})")
            section.used.add(key)
            continue
        values[key] = section.duration(key, 0.0)
    section.finish()
    return values


_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _business_day(section: Section) -> tuple[int, int]:
    """``hours = "09:00-18:00"`` as minutes after local midnight; "24:00" ends at midnight."""
    text = section.str_("hours", "09:00-18:00")
    match = _HOURS.match(text)
    if match:
        start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
        start, end = start_h * 60 + start_m, end_h * 60 + end_m
        if start_m < 60 and end_m < 60 and start < end <= 24 * 60 and start_h < 24:
            return start, end
    section.errors.append(
        f'{section.path}.hours: expected "HH:MM-HH:MM" with the start before the end, got {text!r}'
    )
    return 9 * 60, 18 * 60


def _working_days(section: Section) -> frozenset[int]:
    if not section.has("working_days"):
        return frozenset({0, 1, 2, 3, 4})
    days: set[int] = set()
    for name in section.str_list("working_days"):
        key = name.strip().lower()[:3]
        if key not in WEEKDAYS:
            section.errors.append(
                f"{section.path}.working_days: unknown day {name!r} (use {', '.join(WEEKDAYS)})"
            )
            continue
        days.add(WEEKDAYS.index(key))
    if not days:
        section.errors.append(f"{section.path}.working_days: name at least one day")
        return frozenset({0, 1, 2, 3, 4})
    return frozenset(days)


def _holidays(section: Section) -> frozenset[date]:
    raw = section.raw("holidays", [])
    if not isinstance(raw, list):
        section.errors.append(f"{section.path}.holidays: expected a list of dates (YYYY-MM-DD)")
        return frozenset()
    days: set[date] = set()
    for item in raw:
        if isinstance(item, date):
            days.add(item)
            continue
        try:
            days.add(date.fromisoformat(str(item)))
        except ValueError:
            section.errors.append(f"{section.path}.holidays: expected YYYY-MM-DD, got {item!r}")
    return frozenset(days)


def sla_settings(section: Section) -> SlaSettings:
    default = section.duration("default", 86400.0)
    per_category = _durations_by_key(section.sub("category"), CATEGORIES, "category")
    if "security" not in per_category:
        per_category["security"] = 3600.0
    per_severity = _durations_by_key(section.sub("severity"), SEVERITIES, "severity")
    timezone = section.str_("timezone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        section.errors.append(f"{section.path}.timezone: unknown time zone {timezone!r}")
        timezone = "UTC"
    always_on = section.str_list("always_on") if section.has("always_on") else ["security"]
    for category in always_on:
        if category not in CATEGORIES:
            section.errors.append(f"{section.path}.always_on: unknown category {category!r}")
    start, end = _business_day(section)
    for name, seconds in {**per_category, **per_severity, "default": default}.items():
        if seconds <= 0:
            section.errors.append(f"{section.path}: the response time for {name} must be longer than 0")
    settings = SlaSettings(
        default=default,
        per_category=per_category,
        timezone=timezone,
        per_severity=per_severity,
        business_hours=section.bool_("business_hours", False),
        working_days=_working_days(section),
        day_start_minute=start,
        day_end_minute=end,
        holidays=_holidays(section),
        always_on=frozenset(always_on),
        complaint_window=section.duration("complaint_window", 60 * 86400.0),
        calendar=section.str_("calendar", ""),
    )
    section.finish()
    return settings


_AFTER = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*%|(\+)?\s*(.+?))\s*$")


def _level_after(section: Section, default_percent: float) -> tuple[float, float]:
    """ "150%" (of the SLA limit), "+4h" (the SLA limit plus 4 hours) or "36h" (exactly)."""
    raw = section.raw("after", f"{default_percent:g}%")
    match = _AFTER.match(str(raw)) if isinstance(raw, str) else None
    if match and match.group(1):
        return float(match.group(1)), 0.0
    try:
        if match:
            return (100.0 if match.group(2) else 0.0), parse_duration(match.group(3))
        return 0.0, parse_duration(raw)
    except ValueError:
        section.errors.append(
            f'{section.path}.after: expected "150%", "+4h" or a duration like "36h", got {raw!r}'
        )
        return default_percent, 0.0


def escalation_settings(section: Section) -> EscalationSettings:
    levels: list[EscalationLevel] = []
    configured = [name for name in ESCALATION_LEVELS if section.has(name)]
    for number, name in enumerate(ESCALATION_LEVELS, start=1):
        if configured and name not in configured:
            continue
        level = section.sub(name)
        percent, plus = _level_after(level, 100.0 * number)
        if percent <= 0 and plus <= 0:
            section.errors.append(f"{level.path}.after: must be later than the start of the clock")
        recipients = []
        for address in level.str_list("recipients"):
            if not EMAIL.match(address.strip()):
                section.errors.append(f"{level.path}.recipients: not an email address: {address!r}")
                continue
            recipients.append(address.strip().lower())
        level.finish()
        levels.append(EscalationLevel(name, number, percent, plus, tuple(dict.fromkeys(recipients))))
    sweep_interval = section.duration("sweep_interval", 60.0)
    if sweep_interval < 1:
        section.errors.append(f"{section.path}.sweep_interval: at least 1s")
    settings = EscalationSettings(
        enabled=section.bool_("enabled", True), sweep_interval=sweep_interval, levels=tuple(levels)
    )
    section.finish()
    return settings


def staff_settings(section: Section) -> StaffSettings:
    addresses = frozenset(addr.strip().lower() for addr in section.str_list("addresses"))
    domains = frozenset(dom.strip().lower().lstrip("@") for dom in section.str_list("domains"))
    for addr in sorted(addresses):
        if not EMAIL.match(addr):
            section.errors.append(f"{section.path}.addresses: not an email address: {addr!r}")
    section.finish()
    return StaffSettings(addresses=addresses, domains=domains)


def report_settings(section: Section) -> ReportSettings:
    html = section.str_("html", "")
    interval = section.duration("interval", 300.0)
    if interval < 1:
        section.errors.append(f"{section.path}.interval: at least 1s")
    settings = ReportSettings(
        html=section.path_("html", "") if html else None,
        interval=interval,
        include_resolved=section.bool_("include_resolved", False),
    )
    section.finish()
    return settings


def logging_settings(section: Section) -> LoggingSettings:
    level = section.choice("level", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
    file_name = section.str_("file", "")
    settings = LoggingSettings(level=level, file=section.path_("file", "") if file_name else None)
    section.finish()
    return settings
