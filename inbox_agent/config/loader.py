"""Load the TOML configuration once, validate all of it, build typed objects.

Every problem is collected with its key path and reported in one go, so ops fix a
config in one round instead of one error per restart.

The work is spread over ``reader`` (the ``Section`` reader, durations and sizes),
``mail_sections`` and ``service_sections`` (one builder per table) and ``records``
(the frozen results). The records and parsers are re-exported here, so
``from inbox_agent.config.loader import Config`` keeps working.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from inbox_agent.config.mail_sections import mailbox_settings, smtp_settings
from inbox_agent.config.reader import Section, parse_duration, parse_size
from inbox_agent.config.records import (
    ESCALATION_LEVELS,
    SEVERITIES,
    WEEKDAYS,
    AcknowledgeSettings,
    Config,
    ConfigError,
    EscalationLevel,
    EscalationSettings,
    LoggingSettings,
    ReportSettings,
    SlaSettings,
    StaffSettings,
    StorageSettings,
)
from inbox_agent.config.regulatory import RegulatorySettings, regulatory_settings
from inbox_agent.config.rules import load_rules
from inbox_agent.config.service_sections import (
    acknowledge_settings,
    escalation_settings,
    logging_settings,
    report_settings,
    sla_settings,
    staff_settings,
    storage_settings,
)
from inbox_agent.config.trust import TrustSettings, trust_settings
from inbox_agent.config.web import WebSettings, web_settings
from inbox_agent.domain.calendar import MAX_DAYS_SCANNED

__all__ = [
    "CONFIG_ENV",
    "ESCALATION_LEVELS",
    "SEVERITIES",
    "WEEKDAYS",
    "AcknowledgeSettings",
    "Config",
    "ConfigError",
    "EscalationLevel",
    "EscalationSettings",
    "LoggingSettings",
    "RegulatorySettings",
    "ReportSettings",
    "Section",
    "SlaSettings",
    "StaffSettings",
    "StorageSettings",
    "TrustSettings",
    "WebSettings",
    "build_config",
    "find_config_path",
    "load_config",
    "parse_duration",
    "parse_size",
]

CONFIG_ENV = "INBOX_AGENT_CONFIG"


def build_config(data: Mapping[str, Any], *, base_dir: Path, source: Path | None = None) -> Config:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    errors: list[str] = []
    root = Section(dict(data), "", errors, base_dir)
    mailbox = mailbox_settings(root.sub("mailbox"))
    smtp = smtp_settings(root.sub("smtp"))
    storage = storage_settings(root.sub("storage"))
    acknowledge = acknowledge_settings(root.sub("acknowledge"))
    sla = sla_settings(root.sub("sla"))
    staff = staff_settings(root.sub("staff"))
    escalation = escalation_settings(root.sub("escalation"))
    # Whoever gets an escalation notification answers it by replying: that reply is a
    # staff response, never a customer complaint to acknowledge.
    notified = frozenset(address for level in escalation.levels for address in level.recipients)
    staff = replace(staff, addresses=staff.addresses | notified)
    report = report_settings(root.sub("report"))
    trust = trust_settings(root.sub("trust"))
    regulatory = _regulatory(root.sub("regulatory"), escalation, errors)
    sla = _sla_within_scan(_sla_calendar(sla, regulatory, errors), escalation, errors)
    web = web_settings(root.sub("web"))
    templates_dir = _templates_dir(root.sub("templates"))
    log_settings = logging_settings(root.sub("logging"))
    rules = load_rules(
        root.raw("categories"),
        root.raw("evidence"),
        root.raw("severity"),
        errors,
        categorizer=root.raw("categorizer"),
        models_dir=storage.data_dir / "models",  # where `inbox-agent train --apply` keeps models
    )
    root.finish()
    if errors:
        raise ConfigError(errors)
    return Config(
        source=source,
        mailbox=mailbox,
        smtp=smtp,
        storage=storage,
        acknowledge=acknowledge,
        sla=sla,
        staff=staff,
        templates_dir=templates_dir,
        logging=log_settings,
        rules=rules,
        escalation=escalation,
        report=report,
        trust=trust,
        regulatory=regulatory,
        web=web,
    )


def _regulatory(section: Section, escalation: EscalationSettings, errors: list[str]) -> RegulatorySettings:
    """``[regulatory]``; its ``escalate_to`` must name one of the escalation levels."""
    regulatory = regulatory_settings(section)
    if regulatory.escalate_to and regulatory.escalate_to not in {lvl.name for lvl in escalation.levels}:
        errors.append(f"regulatory.escalate_to: no escalation level {regulatory.escalate_to!r}")
    return regulatory


def _sla_calendar(sla: SlaSettings, regulatory: RegulatorySettings, errors: list[str]) -> SlaSettings:
    """``[sla] calendar`` names a [regulatory] calendar: business hours come from it."""
    if not sla.calendar:
        return sla
    calendar = regulatory.calendars.get(sla.calendar)
    if calendar is None:
        errors.append(
            f"sla.calendar: unknown calendar {sla.calendar!r} (known: {', '.join(sorted(regulatory.calendars))})"
        )
        return sla
    return replace(sla, work_calendar=calendar, timezone=calendar.timezone)


def _sla_within_scan(sla: SlaSettings, escalation: EscalationSettings, errors: list[str]) -> SlaSettings:
    """A business-hours limit whose last escalation level lies beyond the stretch the
    business-hours clock scans (MAX_DAYS_SCANNED calendar days) can never be computed:
    refused at start, not found case by case by the sweep. Rough on purpose: holidays are
    not counted, so a fifth of the working time is kept in reserve (the sweep still
    reports, per case, any deadline it cannot compute)."""
    if not (sla.business_hours and escalation.enabled):
        return sla
    if sla.work_calendar is not None:
        daily = sum(end - start for start, end in sla.work_calendar.windows)
        weekly = daily * (7 - len(sla.work_calendar.weekend)) * 60.0
    else:
        weekly = (sla.day_end_minute - sla.day_start_minute) * len(sla.working_days) * 60.0
    capacity = weekly * (MAX_DAYS_SCANNED // 7 - 1) * 0.8
    limits = {"default": sla.default, **{f"category.{k}": v for k, v in sla.per_category.items()}}
    limits |= {f"severity.{k}": v for k, v in sla.per_severity.items()}
    for name, limit in limits.items():
        if name.removeprefix("category.") in sla.always_on:
            continue  # counted 24/7: plain arithmetic, no scan
        last = -1.0
        for level in escalation.levels:  # a later level is never due before an earlier one
            seconds = level.after_seconds(limit)
            last = seconds if seconds > last else last + limit
        if max(last, limit) > capacity:
            errors.append(
                f"sla.{name}: its escalation levels need {max(last, limit) / 86400:g} days of business "
                f"time, more than the business-hours clock can count ({capacity / 86400:.0f} days); "
                "shorten it, or count it 24/7 (sla.always_on)"
            )
    return sla


def _templates_dir(section: Section) -> Path | None:
    """``[templates] dir``; None (no key) means the templates shipped inside the package."""
    templates_dir = section.path_("dir", "") if section.raw("dir", None) is not None else None
    section.finish()
    if templates_dir is not None and not templates_dir.is_dir():
        section.errors.append(f"templates.dir: not a folder: {templates_dir}")
    return templates_dir


def find_config_path(explicit: str | None) -> Path:
    """--config, then $INBOX_AGENT_CONFIG, then ./config.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return Path("config.toml")


def load_config(path: Path) -> Config:
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"cannot read config file {path}: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return build_config(data, base_dir=path.resolve().parent, source=path)
