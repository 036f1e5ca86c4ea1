"""The validated configuration as frozen records: what ``build_config`` returns.

The mailbox and transport records live in ``settings``; these are the rest of the
service (storage, acknowledgements, SLA, escalation, staff, the page, logging) and the
``Config`` that holds them all. No parsing here: ``loader`` builds them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from inbox_agent.config.regulatory import RegulatorySettings
from inbox_agent.config.rules import Rules
from inbox_agent.config.settings import MailboxSettings, SmtpSettings
from inbox_agent.config.trust import TrustSettings
from inbox_agent.config.web import WebSettings
from inbox_agent.domain.calendar import WorkCalendar


class ConfigError(Exception):
    """The configuration is unusable; ``problems`` lists every reason with its key path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class StorageSettings:
    data_dir: Path
    shard_size: int = 500  # cases per shard file: bounds the cost of one write
    lock_timeout: float = 30.0  # seconds a writer waits for another writer
    retention_days: int = 0  # 0 = keep raw mail of resolved cases forever


@dataclass(frozen=True)
class AcknowledgeSettings:
    enabled: bool = True
    from_name: str = "Wallet Complaints"
    message_id_domain: str = ""  # domain of our Message-IDs; "" = the complaint address's
    default_language: str = "en"  # a reply language (domain.languages); when a case's cannot be told
    per_sender_per_day: int = 5  # acknowledgements to one address per 24 h
    per_case_interval: float = 600.0  # seconds between two acknowledgements of one case
    hotline: str = ""
    loop_token: str = ""  # value of our loop header; derived from the address when ""


WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEVERITIES: tuple[str, ...] = ("urgent", "high", "normal")
ESCALATION_LEVELS: tuple[str, ...] = ("L1", "L2", "L3")


@dataclass(frozen=True)
class SlaSettings:
    default: float = 86400.0  # seconds until a case must have a staff response
    per_category: Mapping[str, float] = field(default_factory=dict)
    timezone: str = "UTC"  # the service's local time: relative dates, business hours
    per_severity: Mapping[str, float] = field(default_factory=dict)  # the shorter of the two applies
    # Business hours: when on, the SLA clock only runs inside them (local time of
    # ``timezone``), except for the ``always_on`` categories, which run 24/7.
    business_hours: bool = False
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # date.weekday(): 0 = Monday
    day_start_minute: int = 9 * 60  # minutes after local midnight
    day_end_minute: int = 18 * 60  # 1440 = the next midnight
    holidays: frozenset[date] = frozenset()
    always_on: frozenset[str] = frozenset({"security"})
    complaint_window: float = 60 * 86400.0  # incidents older than this (at case creation) are flagged
    # ``calendar = "cn"``: business hours come from that [regulatory] calendar (make-up
    # working days, several windows a day) instead of the fields above; "" = the fields.
    calendar: str = ""
    work_calendar: WorkCalendar | None = None  # the calendar named, resolved by the loader

    def response_seconds(self, category: str, severity: str = "") -> float:
        """The case's response-time limit: the shorter of its category's and its severity's."""
        seconds = self.per_category.get(category, self.default)
        if severity in self.per_severity:
            seconds = min(seconds, self.per_severity[severity])
        return seconds

    def uses_business_hours(self, category: str) -> bool:
        return self.business_hours and category not in self.always_on


@dataclass(frozen=True)
class EscalationLevel:
    """One escalation level and when it fires, measured on the case's SLA clock.

    The level is due after ``threshold * percent / 100 + plus`` seconds of SLA time:
    "150%" is (150, 0), "+4h" is (100, 4h) and a plain "36h" is (0, 36h).
    """

    name: str  # "L1" | "L2" | "L3"
    number: int  # 1, 2, 3: what Case.escalation_level records
    percent: float
    plus: float
    recipients: tuple[str, ...] = ()

    def after_seconds(self, sla_threshold: float) -> float:
        return sla_threshold * self.percent / 100.0 + self.plus


def _default_levels() -> tuple[EscalationLevel, ...]:
    return (
        EscalationLevel("L1", 1, 100.0, 0.0),
        EscalationLevel("L2", 2, 200.0, 0.0),
        EscalationLevel("L3", 3, 300.0, 0.0),
    )


@dataclass(frozen=True)
class EscalationSettings:
    enabled: bool = True
    sweep_interval: float = 60.0  # seconds between two sweeps of the daemon
    levels: tuple[EscalationLevel, ...] = field(default_factory=_default_levels)


@dataclass(frozen=True)
class StaffSettings:
    addresses: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    def is_staff(self, address: str) -> bool:
        address = address.lower()
        if address in self.addresses:
            return True
        return "@" in address and address.rsplit("@", 1)[1] in self.domains


@dataclass(frozen=True)
class ReportSettings:
    html: Path | None = None  # the staff page the daemon keeps up to date; None = not written
    interval: float = 300.0  # seconds between two writes of the page
    include_resolved: bool = False


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"
    file: Path | None = None


@dataclass(frozen=True)
class Config:
    source: Path | None
    mailbox: MailboxSettings
    smtp: SmtpSettings
    storage: StorageSettings
    acknowledge: AcknowledgeSettings
    sla: SlaSettings
    staff: StaffSettings
    templates_dir: Path | None  # None: the templates shipped in inbox_agent/mail/templates
    logging: LoggingSettings
    rules: Rules
    escalation: EscalationSettings = field(default_factory=EscalationSettings)
    report: ReportSettings = field(default_factory=ReportSettings)
    trust: TrustSettings = field(default_factory=TrustSettings)
    regulatory: RegulatorySettings = field(default_factory=RegulatorySettings)
    web: WebSettings = field(default_factory=WebSettings)

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset({self.mailbox.address.lower()})

    @property
    def loop_token(self) -> str:
        if self.acknowledge.loop_token:
            return self.acknowledge.loop_token
        digest = hashlib.sha256(self.mailbox.address.lower().encode()).hexdigest()
        return f"inbox-agent-{digest[:16]}"

    @property
    def message_id_domain(self) -> str:
        return self.acknowledge.message_id_domain or self.mailbox.address.rsplit("@", 1)[-1]
