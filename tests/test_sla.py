"""SLA clocks: business hours, holidays, DST, and the [sla]/[escalation] configuration."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.config.loader import ConfigError, SlaSettings, build_config
from inbox_agent.policies.sla import BusinessHours, add_sla_time, business_hours_for, sla_elapsed

ROOT = Path(__file__).resolve().parents[1]
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600.0


def office(zone: ZoneInfo = SHANGHAI, holidays: tuple[date, ...] = ()) -> BusinessHours:
    return BusinessHours(
        zone=zone,
        working_days=frozenset({0, 1, 2, 3, 4}),
        start_minute=9 * 60,
        end_minute=18 * 60,
        holidays=frozenset(holidays),
    )


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def config_data(**sections: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "mailbox": {"address": "complaints@wallet.example"},
        "templates": {"dir": str(ROOT / "inbox_agent" / "mail" / "templates")},
    }
    data.update(sections)
    return data


# --- business hours ----------------------------------------------------------------------


def test_friday_17h_with_8_business_hours_is_due_monday_16h() -> None:
    friday_5pm = local(SHANGHAI, 2026, 11, 20, 17, 0)
    assert friday_5pm.weekday() == 4

    due = add_sla_time(friday_5pm, 8 * HOUR, office())

    assert due == local(SHANGHAI, 2026, 11, 23, 16, 0)
    assert due.tzinfo == UTC  # deadlines are instants in UTC


def test_a_holiday_monday_moves_the_deadline_to_tuesday() -> None:
    friday_5pm = local(SHANGHAI, 2026, 11, 20, 17, 0)

    due = add_sla_time(friday_5pm, 8 * HOUR, office(holidays=(date(2026, 11, 23),)))

    assert due == local(SHANGHAI, 2026, 11, 24, 16, 0)


def test_a_complaint_sent_on_saturday_starts_counting_monday_morning() -> None:
    saturday_night = local(SHANGHAI, 2026, 11, 21, 23, 30)

    assert add_sla_time(saturday_night, 8 * HOUR, office()) == local(SHANGHAI, 2026, 11, 23, 17, 0)
    assert sla_elapsed(saturday_night, local(SHANGHAI, 2026, 11, 23, 10, 0), office()) == HOUR


def test_a_deadline_at_the_end_of_the_day_stays_on_that_day() -> None:
    monday_9am = local(SHANGHAI, 2026, 11, 23, 9, 0)

    assert add_sla_time(monday_9am, 9 * HOUR, office()) == local(SHANGHAI, 2026, 11, 23, 18, 0)
    assert add_sla_time(monday_9am, 9 * HOUR + 1, office()) == local(SHANGHAI, 2026, 11, 24, 9, 0, 1)


def test_business_hours_across_the_autumn_dst_change_in_berlin() -> None:
    # Friday 23 Oct 2026 17:00 CEST (UTC+2); clocks go back on Sunday 25 Oct; Monday is CET (UTC+1).
    friday_5pm = local(BERLIN, 2026, 10, 23, 17, 0)

    due = add_sla_time(friday_5pm, 8 * HOUR, office(BERLIN))

    # One hour on Friday, seven on Monday: 16:00 local, which is 15:00 UTC after the change.
    assert due == datetime(2026, 10, 26, 15, 0, tzinfo=UTC)
    assert due.astimezone(BERLIN).hour == 16


def test_around_the_clock_across_the_dst_change_is_exact_elapsed_time() -> None:
    # Saturday 12:00 CEST + 24 h = Sunday 11:00 CET: the day of the change has 25 hours.
    saturday_noon = local(BERLIN, 2026, 10, 24, 12, 0)

    due = add_sla_time(saturday_noon, 24 * HOUR, None)

    assert due == datetime(2026, 10, 25, 10, 0, tzinfo=UTC)
    assert due.astimezone(BERLIN).hour == 11


def test_spring_dst_change_keeps_the_business_day_at_nine_hours() -> None:
    # 29 Mar 2026 is the spring change in Berlin; Monday 30 Mar is a normal 9-hour day in CEST.
    friday = local(BERLIN, 2026, 3, 27, 9, 0)
    monday_evening = local(BERLIN, 2026, 3, 30, 18, 0)

    assert sla_elapsed(friday, monday_evening, office(BERLIN)) == 18 * HOUR


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    seconds=st.integers(min_value=0, max_value=30 * 86400),
    zone=st.sampled_from([SHANGHAI, BERLIN, ZoneInfo("America/New_York")]),
)
def test_elapsed_time_at_the_deadline_is_the_limit(start: datetime, seconds: int, zone: ZoneInfo) -> None:
    hours = office(zone, holidays=(date(2026, 12, 25), date(2027, 1, 1)))
    due = add_sla_time(start, seconds, hours)

    assert due >= start
    assert sla_elapsed(start, due, hours) == seconds
    if seconds:  # one second earlier the limit is not reached yet
        assert sla_elapsed(start, due - timedelta(seconds=1), hours) < seconds


# --- configuration -----------------------------------------------------------------------


def test_defaults_security_one_hour_others_a_day_around_the_clock() -> None:
    config = build_config(config_data(), base_dir=ROOT)

    assert config.sla.response_seconds("security") == HOUR
    assert config.sla.response_seconds("wrong_charge") == 24 * HOUR
    assert business_hours_for(config.sla, "wrong_charge") is None
    assert config.sla.complaint_window == 60 * 86400
    assert [level.name for level in config.escalation.levels] == ["L1", "L2", "L3"]
    assert config.escalation.sweep_interval == 60


def test_the_shorter_of_category_and_severity_limit_applies() -> None:
    sla = SlaSettings(per_category={"security": HOUR, "privacy": 48 * HOUR}, per_severity={"high": 8 * HOUR})

    assert sla.response_seconds("privacy", "high") == 8 * HOUR
    assert sla.response_seconds("privacy", "normal") == 48 * HOUR
    assert sla.response_seconds("security", "high") == HOUR
    assert sla.response_seconds("other", "urgent") == 24 * HOUR


def test_business_hours_config_with_security_always_on() -> None:
    config = build_config(
        config_data(
            sla={
                "timezone": "Europe/Berlin",
                "business_hours": True,
                "working_days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                "hours": "08:30-17:00",
                "holidays": ["2026-12-25", date(2026, 12, 26)],
                "complaint_window": "90d",
                "severity": {"high": "8h"},
            }
        ),
        base_dir=ROOT,
    )

    hours = business_hours_for(config.sla, "wrong_charge")
    assert hours is not None
    assert hours.working_days == frozenset({0, 1, 2, 3, 4, 5})
    assert (hours.start_minute, hours.end_minute) == (8 * 60 + 30, 17 * 60)
    assert hours.holidays == {date(2026, 12, 25), date(2026, 12, 26)}
    assert business_hours_for(config.sla, "security") is None
    assert config.sla.complaint_window == 90 * 86400
    assert config.sla.response_seconds("other", "high") == 8 * HOUR


def test_escalation_levels_after_percent_plus_or_duration() -> None:
    config = build_config(
        config_data(
            escalation={
                "sweep_interval": "30s",
                "L1": {"after": "100%", "recipients": ["Team@Wallet.example"]},
                "L2": {"after": "+4h", "recipients": ["boss@wallet.example"]},
                "L3": {"after": "72h", "recipients": ["officer@wallet.example", "legal@wallet.example"]},
            }
        ),
        base_dir=ROOT,
    )

    l1, l2, l3 = config.escalation.levels
    assert [level.after_seconds(24 * HOUR) for level in (l1, l2, l3)] == [24 * HOUR, 28 * HOUR, 72 * HOUR]
    assert [level.after_seconds(HOUR) for level in (l1, l2, l3)] == [HOUR, 5 * HOUR, 72 * HOUR]
    assert l1.recipients == ("team@wallet.example",)
    assert l3.recipients == ("officer@wallet.example", "legal@wallet.example")
    assert config.escalation.sweep_interval == 30


def test_bad_sla_and_escalation_settings_are_all_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(
            config_data(
                sla={
                    "hours": "18:00-09:00",
                    "working_days": ["mon", "funday"],
                    "holidays": ["25/12/2026"],
                    "always_on": ["securty"],
                    "severity": {"critical": "1h"},
                },
                escalation={"L1": {"after": "soon", "recipients": ["not an address"]}, "L4": {}},
            ),
            base_dir=ROOT,
        )
    problems = "\n".join(caught.value.problems)
    assert "sla.hours" in problems
    assert "sla.working_days: unknown day 'funday'" in problems
    assert "sla.holidays: expected YYYY-MM-DD" in problems
    assert "sla.always_on: unknown category 'securty'" in problems
    assert "sla.severity.critical: unknown severity" in problems
    assert "escalation.L1.after" in problems
    assert "escalation.L1.recipients: not an email address" in problems
    assert "escalation.L4: unknown key" in problems


def test_the_example_config_documents_and_loads_the_sla_and_escalation() -> None:
    from inbox_agent.config.loader import load_config

    config = load_config(ROOT / "config.example.toml")

    assert config.sla.always_on == {"security"}
    assert all(level.recipients for level in config.escalation.levels)


def test_business_hours_starting_inside_the_spring_forward_gap_start_when_the_clock_jumps() -> None:
    # New York leaps from 02:00 to 03:00 on Sunday 8 March 2026; hours from 02:30 start
    # at the leap (07:00 UTC), not at 03:30 as Python's reading of a missing time gives.
    hours = BusinessHours(
        zone=ZoneInfo("America/New_York"),
        working_days=frozenset(range(7)),
        start_minute=150,
        end_minute=600,
        holidays=frozenset(),
    )
    first = next(hours.windows_from(datetime(2026, 3, 8, 5, 0, tzinfo=UTC)))
    assert first == (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), datetime(2026, 3, 8, 14, 0, tzinfo=UTC))
