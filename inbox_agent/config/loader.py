"""Load the TOML configuration once, validate all of it, build typed objects.

Every problem is collected with its key path and reported in one go, so ops fix a
config in one round instead of one error per restart.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inbox_agent.config.rules import Rules, load_rules
from inbox_agent.config.settings import (
    ImapSettings,
    MailboxSettings,
    MaildirSettings,
    Secret,
    SmtpSettings,
)
from inbox_agent.domain.model import CATEGORIES

CONFIG_ENV = "INBOX_AGENT_CONFIG"


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
    default_language: str = "en"  # when a complaint's language cannot be told
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


# ---------------------------------------------------------------- value parsing

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def parse_duration(value: object) -> float:
    """ "30s", "5m", "24h", "2d", or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError('expected a duration like "30s", "5m", "24h"')
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("must not be negative")
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f'expected a duration like "30s", "5m", "24h", got {value!r}')
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_size(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f'expected a size like "25MB", got {value!r}')
    unit = (match.group(2) or "b").lower()
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


class Section:
    """Typed reads from one TOML table; remembers which keys were used."""

    def __init__(self, data: object, path: str, errors: list[str], base_dir: Path) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            errors.append(f"{path}: expected a table")
            data = {}
        self.data: dict[str, Any] = data
        self.path = path
        self.errors = errors
        self.base_dir = base_dir
        self.used: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: object = None) -> object:
        self.used.add(key)
        return self.data.get(key, default)

    def sub(self, key: str) -> Section:
        self.used.add(key)
        return Section(self.data.get(key), self._key(key), self.errors, self.base_dir)

    def _typed(self, key: str, default: Any, kinds: tuple[type, ...], what: str) -> Any:
        value = self.raw(key, default)
        if isinstance(value, bool) and bool not in kinds:
            self.errors.append(f"{self._key(key)}: expected {what}, got {value!r}")
            return default
        if not isinstance(value, kinds):
            self.errors.append(f"{self._key(key)}: expected {what}, got {value!r}")
            return default
        return value

    def str_(self, key: str, default: str = "") -> str:
        return self._typed(key, default, (str,), "a string")

    def bool_(self, key: str, default: bool) -> bool:
        return self._typed(key, default, (bool,), "true or false")

    def int_(self, key: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
        value = self._typed(key, default, (int,), "a whole number")
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and {maximum}" if maximum is not None else ""
            self.errors.append(f"{self._key(key)}: must be between {minimum}{upper}, got {value}")
            return default
        return value

    def choice(self, key: str, default: str, options: tuple[str, ...]) -> str:
        value = self.str_(key, default)
        if value not in options:
            self.errors.append(f"{self._key(key)}: must be one of {', '.join(options)}; got {value!r}")
            return default
        return value

    def duration(self, key: str, default: float) -> float:
        value = self.raw(key, default)
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.errors.append(f"{self._key(key)}: {exc}")
            return default

    def size(self, key: str, default: int) -> int:
        try:
            return parse_size(self.raw(key, default))
        except ValueError as exc:
            self.errors.append(f"{self._key(key)}: {exc}")
            return default

    def path_(self, key: str, default: str) -> Path:
        text = self.str_(key, default)
        path = Path(os.path.expanduser(text))
        return path if path.is_absolute() else (self.base_dir / path)

    def str_list(self, key: str) -> list[str]:
        value = self.raw(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.errors.append(f"{self._key(key)}: expected a list of strings")
            return []
        return value

    def email(self, key: str, default: str = "") -> str:
        value = self.str_(key, default).strip()
        if value and not _EMAIL.match(value):
            self.errors.append(f"{self._key(key)}: not an email address: {value!r}")
        return value.lower()

    def secret(self, key_prefix: str = "password") -> Secret:
        """A secret from ``<prefix>_env`` (an environment variable) or ``<prefix>_file``.

        A literal ``<prefix>`` in the file is refused so secrets stay out of configs
        that get copied around and committed.
        """
        if self.has(key_prefix):
            self.used.add(key_prefix)
            self.errors.append(
                f"{self._key(key_prefix)}: secrets are not read from the config file; "
                f"use {key_prefix}_env or {key_prefix}_file"
            )
        env_name = self.str_(f"{key_prefix}_env")
        file_name = self.str_(f"{key_prefix}_file")
        if env_name and file_name:
            self.errors.append(
                f"{self._key(key_prefix)}: give {key_prefix}_env or {key_prefix}_file, not both"
            )
            return Secret("")
        if env_name:
            value = os.environ.get(env_name)
            if value is None:
                self.errors.append(
                    f"{self._key(key_prefix + '_env')}: environment variable {env_name} is not set"
                )
                return Secret("")
            return Secret(value)
        if file_name:
            path = Path(os.path.expanduser(file_name))
            path = path if path.is_absolute() else self.base_dir / path
            try:
                return Secret(path.read_text(encoding="utf-8").strip())
            except OSError as exc:
                self.errors.append(f"{self._key(key_prefix + '_file')}: cannot read {path}: {exc.strerror}")
        return Secret("")

    def finish(self) -> None:
        for key in sorted(set(self.data) - self.used):
            self.errors.append(f"{self._key(key)}: unknown key")


# ---------------------------------------------------------------- sections


def _imap(section: Section) -> ImapSettings:
    allow_plaintext = section.bool_("allow_plaintext", False)
    security = section.choice("security", "tls", ("tls", "starttls", "plain"))
    if security == "plain" and not allow_plaintext:
        section.errors.append(
            f'{section.path}.security: "plain" sends the password unencrypted; '
            "set allow_plaintext = true to allow it"
        )
    auth = section.choice("auth", "password", ("password", "xoauth2"))
    host = section.str_("host")
    if not host:
        section.errors.append(f'{section.path}.host: required for kind = "imap"')
    username = section.str_("username")
    if not username:
        section.errors.append(f'{section.path}.username: required for kind = "imap"')
    secret = section.secret("token" if auth == "xoauth2" else "password")
    settings = ImapSettings(
        host=host,
        port=section.int_("port", 993 if security == "tls" else 143, 1, 65535),
        security=security,  # type: ignore[arg-type]
        username=username,
        password=secret,
        auth=auth,  # type: ignore[arg-type]
        folder=section.str_("folder", "INBOX"),
        timeout=section.duration("timeout", 30.0),
        batch_size=section.int_("batch_size", 100, 1, 10000),
        processed_action=section.choice("processed_action", "flag", ("flag", "move")),  # type: ignore[arg-type]
        processed_keyword=section.str_("processed_keyword", "$InboxAgentDone"),
        processed_folder=section.str_("processed_folder", "Processed"),
        idle=section.bool_("idle", False),
        idle_timeout=section.duration("idle_timeout", 300.0),
        sent_folder=section.str_("sent_folder", ""),
        tls_verify=section.bool_("tls_verify", True),
        ca_file=section.str_("ca_file", ""),
    )
    section.finish()
    return settings


def _maildir(section: Section) -> MaildirSettings:
    settings = MaildirSettings(
        path=section.path_("path", "maildir"),
        processed_action=section.choice("processed_action", "flag", ("flag", "move", "keep")),  # type: ignore[arg-type]
        processed_folder=section.str_("processed_folder", "Processed"),
    )
    section.finish()
    return settings


def _mailbox(section: Section) -> MailboxSettings:
    kind = section.choice("kind", "maildir", ("imap", "maildir"))
    imap = _imap(section.sub("imap")) if kind == "imap" else None
    maildir = _maildir(section.sub("maildir")) if kind == "maildir" else None
    # The section for the other kind may stay in the file (ops switch back and forth).
    section.used.update({"imap", "maildir"})
    address = section.email("address")
    if not address:
        section.errors.append(f"{section.path}.address: required (the complaint address replies come from)")
    start_from = section.choice("start_from", "all", ("now", "date", "all"))
    start_date: date | None = None
    raw_date = section.raw("start_date", "")
    if isinstance(raw_date, date):
        start_date = raw_date
    elif raw_date:
        try:
            start_date = date.fromisoformat(str(raw_date))
        except ValueError:
            section.errors.append(f"{section.path}.start_date: expected YYYY-MM-DD, got {raw_date!r}")
    if start_from == "date" and start_date is None:
        section.errors.append(f'{section.path}.start_date: required when start_from = "date"')
    settings = MailboxSettings(
        kind=kind,  # type: ignore[arg-type]
        imap=imap,
        maildir=maildir,
        address=address,
        poll_interval=section.duration("poll_interval", 30.0),
        max_message_bytes=section.size("max_message_size", 25 * 1024 * 1024),
        start_from=start_from,  # type: ignore[arg-type]
        start_date=start_date,
        silent_older_than=section.duration("silent_older_than", 7 * 86400.0),
        backoff_initial=section.duration("backoff_initial", 2.0),
        backoff_max=section.duration("backoff_max", 300.0),
    )
    section.finish()
    return settings


def _smtp(section: Section) -> SmtpSettings:
    kind = section.choice("kind", "directory", ("smtp", "directory"))
    security = section.choice("security", "starttls", ("tls", "starttls", "plain"))
    allow_plaintext = section.bool_("allow_plaintext", False)
    username = section.str_("username")
    if kind == "smtp" and username:
        password = section.secret("password")
    else:
        # No AUTH: a password_env naming an unset variable is not an error then.
        section.used.update({"password_env", "password_file"})
        password = Secret("")
    host = section.str_("host")
    if kind == "smtp":
        if not host:
            section.errors.append(f'{section.path}.host: required for kind = "smtp"')
        if security == "plain" and username and not allow_plaintext:
            section.errors.append(
                f'{section.path}.security: "plain" sends the password unencrypted; '
                "set allow_plaintext = true to allow it"
            )
    directory = section.path_("directory", "outbox") if kind == "directory" else None
    if kind != "directory":
        section.used.add("directory")
    settings = SmtpSettings(
        kind=kind,  # type: ignore[arg-type]
        host=host,
        port=section.int_("port", {"tls": 465, "starttls": 587, "plain": 25}[security], 1, 65535),
        security=security,  # type: ignore[arg-type]
        username=username,
        password=password,
        timeout=section.duration("timeout", 30.0),
        directory=directory,
        batch_size=section.int_("batch_size", 100, 1, 10000),
        retry_initial=section.duration("retry_initial", 60.0),
        retry_max=section.duration("retry_max", 3600.0),
        tls_verify=section.bool_("tls_verify", True),
        ca_file=section.str_("ca_file", ""),
        helo_name=section.str_("helo_name", ""),
    )
    section.finish()
    return settings


def _storage(section: Section) -> StorageSettings:
    settings = StorageSettings(
        data_dir=section.path_("data_dir", "data"),
        shard_size=section.int_("shard_size", 500, 10, 100000),
        lock_timeout=section.duration("lock_timeout", 30.0),
        retention_days=section.int_("retention_days", 0, 0),
    )
    section.finish()
    return settings


def _acknowledge(section: Section) -> AcknowledgeSettings:
    settings = AcknowledgeSettings(
        enabled=section.bool_("enabled", True),
        from_name=section.str_("from_name", "Wallet Complaints"),
        message_id_domain=section.str_("message_id_domain", ""),
        default_language=section.choice("default_language", "en", ("en", "zh")),
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


def _sla(section: Section) -> SlaSettings:
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


def _escalation(section: Section) -> EscalationSettings:
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
            if not _EMAIL.match(address.strip()):
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


def _staff(section: Section) -> StaffSettings:
    addresses = frozenset(addr.strip().lower() for addr in section.str_list("addresses"))
    domains = frozenset(dom.strip().lower().lstrip("@") for dom in section.str_list("domains"))
    for addr in sorted(addresses):
        if not _EMAIL.match(addr):
            section.errors.append(f"{section.path}.addresses: not an email address: {addr!r}")
    section.finish()
    return StaffSettings(addresses=addresses, domains=domains)


def _report(section: Section) -> ReportSettings:
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


def _logging(section: Section) -> LoggingSettings:
    level = section.choice("level", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
    file_name = section.str_("file", "")
    settings = LoggingSettings(level=level, file=section.path_("file", "") if file_name else None)
    section.finish()
    return settings


def build_config(data: Mapping[str, Any], *, base_dir: Path, source: Path | None = None) -> Config:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    errors: list[str] = []
    root = Section(dict(data), "", errors, base_dir)
    mailbox = _mailbox(root.sub("mailbox"))
    smtp = _smtp(root.sub("smtp"))
    storage = _storage(root.sub("storage"))
    acknowledge = _acknowledge(root.sub("acknowledge"))
    sla = _sla(root.sub("sla"))
    staff = _staff(root.sub("staff"))
    escalation = _escalation(root.sub("escalation"))
    # Whoever gets an escalation notification answers it by replying: that reply is a
    # staff response, never a customer complaint to acknowledge.
    notified = frozenset(address for level in escalation.levels for address in level.recipients)
    staff = replace(staff, addresses=staff.addresses | notified)
    report = _report(root.sub("report"))
    templates = root.sub("templates")
    # No key: the templates shipped inside the package. The key only overrides them.
    templates_dir = templates.path_("dir", "") if templates.raw("dir", None) is not None else None
    templates.finish()
    if templates_dir is not None and not templates_dir.is_dir():
        errors.append(f"templates.dir: not a folder: {templates_dir}")
    logging_settings = _logging(root.sub("logging"))
    rules = load_rules(root.raw("categories"), root.raw("evidence"), root.raw("severity"), errors)
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
        logging=logging_settings,
        rules=rules,
        escalation=escalation,
        report=report,
    )


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
