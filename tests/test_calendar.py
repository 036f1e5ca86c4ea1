"""Working calendars and the deadlines of each preset jurisdiction, at frozen instants:
a Chinese Golden Week with its make-up Saturday and Sunday, Christmas, a DST change and
a lunch window. Every expected date below is worked out by hand in the comment beside
it, from the published holiday calendars, not read back from the code."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox_agent.config.reader import Section
from inbox_agent.config.regulatory import regulatory_settings
from inbox_agent.domain.calendar import (
    CalendarNotCovered,
    WorkCalendar,
    add_business_days,
    add_calendar_days,
    add_working_hours,
)
from inbox_agent.domain.jurisdiction_presets import PRESET_CALENDARS, PRESET_JURISDICTIONS
from inbox_agent.policies.sla import add_sla_time, sla_elapsed

SHANGHAI, BERLIN, NEW_YORK, DUBAI = (
    ZoneInfo("Asia/Shanghai"),
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("America/New_York"),
    ZoneInfo("Asia/Dubai"),
)
CN = PRESET_CALENDARS["cn"]


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def deadlines(key: str, received: datetime) -> dict[str, datetime]:
    jurisdiction = PRESET_JURISDICTIONS[key]
    calendar = PRESET_CALENDARS[jurisdiction.calendar]
    found = {clock: jurisdiction.deadline(clock, calendar, received) for clock in jurisdiction.clocks}
    return {clock: moment for clock, moment in found.items() if moment is not None}


# --- China: Golden Week 2026 (1-7 October off; Sunday 20 September and Saturday 10 October worked)


def test_golden_week_make_up_saturday_is_a_working_day_and_the_holiday_is_not() -> None:
    assert CN.is_working_day(date(2026, 10, 10))  # Saturday, declared a working day
    assert CN.is_working_day(date(2026, 9, 20))  # Sunday, declared a working day
    assert not CN.is_working_day(date(2026, 10, 5))  # Monday inside the holiday
    assert not CN.is_working_day(date(2026, 10, 11))  # an ordinary Sunday


def test_three_business_days_after_30_september_end_on_the_make_up_saturday() -> None:
    # 1-7 Oct off; working days after 30 Sep: Thu 8, Fri 9, Sat 10 (make-up) -> the 3rd is Sat 10.
    due = add_business_days(CN, local(SHANGHAI, 2026, 9, 30, 16, 0), 3)
    assert due == local(SHANGHAI, 2026, 10, 10, 18, 0)
    # A plain Mon-Fri calendar without the make-up day would have said Monday 12 October.
    assert due.date() != date(2026, 10, 12)


def test_a_complaint_on_saturday_19_september_counts_the_make_up_sunday_first() -> None:
    due = add_business_days(CN, local(SHANGHAI, 2026, 9, 19, 11, 0), 1)
    assert due == local(SHANGHAI, 2026, 9, 20, 18, 0)


def test_cn_pboc_counts_calendar_days_so_golden_week_does_not_extend_them() -> None:
    # Received 30 Sep 10:00 Shanghai; 15 days -> the end of 15 Oct; 13 -> 13 Oct; 30 -> 30 Oct.
    found = deadlines("CN-PBoC", local(SHANGHAI, 2026, 9, 30, 10, 0))
    assert found["substantive"] == local(SHANGHAI, 2026, 10, 16, 0, 0)
    assert found["holding"] == local(SHANGHAI, 2026, 10, 14, 0, 0)
    assert found["final"] == local(SHANGHAI, 2026, 10, 31, 0, 0)


def test_lunch_window_on_the_make_up_saturday_stops_the_sla_clock() -> None:
    # 11:30 Sat 10 Oct (worked): 30 min to 12:00, lunch 12:00-13:30, 30 min more -> 14:00.
    start = local(SHANGHAI, 2026, 10, 10, 11, 30)
    assert add_working_hours(CN, start, 1.0) == local(SHANGHAI, 2026, 10, 10, 14, 0)
    assert add_sla_time(start, 3600, CN) == local(SHANGHAI, 2026, 10, 10, 14, 0)
    # 12:15 is inside the lunch break: nothing is counted until 13:30.
    assert sla_elapsed(local(SHANGHAI, 2026, 10, 10, 12, 15), local(SHANGHAI, 2026, 10, 10, 13, 30), CN) == 0


def test_an_hour_asked_for_on_30_september_at_17_30_ends_after_golden_week() -> None:
    # 30 min left on 30 Sep; 1-7 Oct off; then 30 min from 09:00 on Thu 8 Oct.
    assert add_working_hours(CN, local(SHANGHAI, 2026, 9, 30, 17, 30), 1.0) == local(
        SHANGHAI, 2026, 10, 8, 9, 30
    )


# --- EU: PSD2 on the TARGET calendar, Christmas and a DST change


def test_psd2_across_christmas_and_new_year() -> None:
    # Received Fri 18 Dec 2026. TARGET closes 25 Dec, 26 Dec (a Saturday) and 1 Jan 2027.
    # Business days: 21 22 23 24 | 28 29 30 31 | 4 5 6 7 8 | 11 12 -> the 15th is Tue 12 Jan 2027.
    found = deadlines("PSD2", local(BERLIN, 2026, 12, 18, 15, 0))
    assert found["substantive"] == local(BERLIN, 2027, 1, 12, 18, 0)
    # 13th business day: Fri 8 Jan 2027.
    assert found["holding"] == local(BERLIN, 2027, 1, 8, 18, 0)


def test_psd2_deadline_after_the_autumn_dst_change_is_one_utc_hour_later() -> None:
    # Received Tue 20 Oct 2026; 15 business days (no TARGET holiday): 21..23, 26..30, 2..6, 9, 10
    # -> Tue 10 Nov 2026 18:00 CET (UTC+1) = 17:00 UTC, although receipt was in CEST (UTC+2).
    found = deadlines("PSD2", local(BERLIN, 2026, 10, 20, 9, 0))
    assert found["substantive"] == datetime(2026, 11, 10, 17, 0, tzinfo=UTC)
    # A deadline still in summer time closes at 16:00 UTC: 18:00 is 18:00 on both sides.
    assert add_business_days(PRESET_CALENDARS["ecb"], local(BERLIN, 2026, 10, 20, 9, 0), 3) == datetime(
        2026, 10, 23, 16, 0, tzinfo=UTC
    )


# --- US: CFPB calendar days, DST and Christmas


def test_cfpb_calendar_days_across_the_us_dst_change() -> None:
    # Received Sun 25 Oct 2026 10:00 EDT; 15 days -> end of Mon 9 Nov, local midnight in EST
    # (UTC-5) = 05:00 UTC on 10 Nov, not 04:00.
    found = deadlines("CFPB", local(NEW_YORK, 2026, 10, 25, 10, 0))
    assert found["substantive"] == datetime(2026, 11, 10, 5, 0, tzinfo=UTC)
    assert found["final"] == local(NEW_YORK, 2026, 12, 25, 0, 0)  # 60 days: end of 24 Dec


def test_cfpb_christmas_does_not_stop_calendar_days_but_business_days_skip_it() -> None:
    received = local(NEW_YORK, 2026, 12, 20, 12, 0)
    assert deadlines("CFPB", received)["substantive"] == local(NEW_YORK, 2027, 1, 5, 0, 0)
    # The US calendar: Mon 21 .. Thu 24, Fri 25 (Christmas) off, Mon 28 -> the 5th is 28 Dec.
    assert add_business_days(PRESET_CALENDARS["us"], received, 5) == local(NEW_YORK, 2026, 12, 28, 18, 0)


# --- UAE: CBUAE business days, a Monday-Friday week since 2022, National Day


def test_cbuae_acknowledgement_skips_national_day() -> None:
    # Received Mon 30 Nov 2026 in Dubai; 2-3 Dec National Day; working: Tue 1, Fri 4 -> 2nd is 4 Dec.
    found = deadlines("CBUAE", local(DUBAI, 2026, 11, 30, 10, 0))
    assert found["acknowledgement"] == local(DUBAI, 2026, 12, 4, 18, 0)
    assert found["final"] == local(DUBAI, 2026, 12, 31, 0, 0)  # 30 calendar days: end of 30 Dec


def test_cbuae_christmas_is_a_working_day() -> None:
    # Received Wed 23 Dec; Thu 24 and Fri 25 are working days in the UAE.
    found = deadlines("CBUAE", local(DUBAI, 2026, 12, 23, 10, 0))
    assert found["acknowledgement"] == local(DUBAI, 2026, 12, 25, 18, 0)


# --- a year the calendar does not know


def test_a_year_chinesecalendar_does_not_cover_is_a_loud_error_naming_calendar_and_year() -> None:
    with pytest.raises(CalendarNotCovered) as caught:
        add_business_days(CN, local(SHANGHAI, 2026, 12, 28, 10, 0), 15)
    assert "'cn'" in str(caught.value) and "2027" in str(caught.value)


def test_calendar_days_need_no_holiday_data_so_an_uncovered_year_is_no_error() -> None:
    # Holidays do not move a calendar-day deadline: the end of the 15th local day (midnight).
    assert add_calendar_days(CN, local(SHANGHAI, 2026, 12, 28, 10, 0), 15) == local(
        SHANGHAI, 2027, 1, 13, 0, 0
    )


def test_declared_years_fill_the_gap_with_the_config_days() -> None:
    declared = WorkCalendar(
        name="cn",
        timezone="Asia/Shanghai",
        source="cn",
        declared_years=frozenset({2027}),
        holidays=frozenset({date(2027, 1, 1)}),
    )
    # Working days after Mon 28 Dec 2026: 29, 30, 31, (1 Jan declared off), Mon 4 Jan -> 4th.
    assert add_business_days(declared, local(SHANGHAI, 2026, 12, 28, 10, 0), 4) == local(
        SHANGHAI, 2027, 1, 4, 18, 0
    )


def test_config_refuses_to_start_when_the_current_year_is_not_covered(tmp_path: Path) -> None:
    errors: list[str] = []
    section = Section({"default": "CN-PBoC"}, "regulatory", errors, tmp_path)
    regulatory_settings(section, today=date(2027, 3, 1))
    assert len(errors) == 1
    assert "CN-PBoC" in errors[0] and "'cn'" in errors[0] and "2027" in errors[0]
    errors.clear()
    regulatory_settings(
        Section(
            {"default": "CN-PBoC", "calendar": {"cn": {"declared_years": [2027]}}},
            "regulatory",
            errors,
            tmp_path,
        ),
        today=date(2027, 3, 1),
    )
    assert errors == []


# --- differential: business days against the library read directly


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2026, 10, 31)),
    st.integers(min_value=1, max_value=40),
)
def test_business_days_agree_with_chinesecalendar_counted_by_hand(start: datetime, days: int) -> None:
    received = start.replace(tzinfo=UTC)
    due = add_business_days(CN, received, days)
    due_day = due.astimezone(SHANGHAI).date()
    first = received.astimezone(SHANGHAI).date()
    counted = sum(
        1
        for offset in range(1, (due_day - first).days + 1)
        if chinese_calendar.is_workday(first + timedelta(days=offset))
    )
    assert counted == days and chinese_calendar.is_workday(due_day)
    assert due.astimezone(SHANGHAI).time().hour == 18


# --- every preset across every hard spot: an oracle read straight from the libraries


def _oracle_working(calendar_name: str, day: date) -> bool:
    import holidays

    if calendar_name == "cn":
        return chinese_calendar.is_workday(day)
    table = {
        "us": lambda: holidays.country_holidays("US", years=day.year),
        "ecb": lambda: holidays.financial_holidays("ECB", years=day.year),
        "ae": lambda: holidays.country_holidays("AE", years=day.year),
    }[calendar_name]()
    return day.weekday() < 5 and day not in table


HARD_SPOTS = {
    "before Golden Week, at lunch": (2026, 9, 30, 12, 15),
    "before Christmas": (2026, 12, 22, 17, 45),
    "before the EU DST change": (2026, 10, 23, 9, 0),
    "before the US DST change": (2026, 10, 30, 23, 30),
}


@pytest.mark.parametrize("spot", sorted(HARD_SPOTS))
@pytest.mark.parametrize("key", sorted(PRESET_JURISDICTIONS))
def test_every_preset_clock_across_every_hard_spot(key: str, spot: str) -> None:
    jurisdiction = PRESET_JURISDICTIONS[key]
    calendar = PRESET_CALENDARS[jurisdiction.calendar]
    zone = ZoneInfo(calendar.timezone)
    received = datetime(*HARD_SPOTS[spot], tzinfo=zone)  # type: ignore[misc]
    first = received.date()
    for clock, rule in jurisdiction.clocks.items():
        try:
            due = jurisdiction.deadline(clock, calendar, received)
        except CalendarNotCovered as exc:
            assert "2027" in str(exc) and key == "CN-PBoC"  # loud, never a guess
            continue
        assert due is not None
        local_due = due.astimezone(zone)
        if rule.unit == "calendar":
            # The end of the local day N days after receipt: local midnight, whatever DST did.
            assert local_due.replace(tzinfo=None) == datetime.combine(
                first + timedelta(days=rule.days + 1), datetime.min.time()
            )
            continue
        # Close of business on a working day, with exactly N working days after receipt.
        assert (local_due.hour, local_due.minute) == divmod(calendar.windows[-1][1], 60)
        assert _oracle_working(jurisdiction.calendar, local_due.date())
        counted = sum(
            _oracle_working(jurisdiction.calendar, first + timedelta(days=offset))
            for offset in range(1, (local_due.date() - first).days + 1)
        )
        assert counted == rule.days, (clock, local_due)


# --- wall-clock times that do not exist (spring forward) or happen twice (autumn) ------

_NEW_YORK_EVERY_DAY = WorkCalendar(
    name="ny", timezone="America/New_York", windows=((150, 600),), weekend=frozenset()
)


def test_hours_starting_inside_the_spring_forward_gap_start_when_the_clock_jumps() -> None:
    # 8 March 2026: New York's clocks leap from 02:00 to 03:00. Hours set to 02:30-10:00
    # start at the leap (03:00 EDT, 07:00 UTC); before, they started at 03:30.
    windows = _NEW_YORK_EVERY_DAY.windows_on(date(2026, 3, 8))
    assert windows == [(datetime(2026, 3, 8, 7, 0, tzinfo=UTC), datetime(2026, 3, 8, 14, 0, tzinfo=UTC))]
    one_hour = add_working_hours(_NEW_YORK_EVERY_DAY, datetime(2026, 3, 8, 5, 0, tzinfo=UTC), 1)
    assert one_hour == datetime(2026, 3, 8, 8, 0, tzinfo=UTC)  # 04:00 EDT


def test_hours_starting_at_a_time_that_happens_twice_start_at_its_first_occurrence() -> None:
    # 1 November 2026: 01:00-02:00 happens twice in New York (EDT, then EST).
    calendar = WorkCalendar(name="ny", timezone="America/New_York", windows=((90, 600),), weekend=frozenset())
    assert calendar.windows_on(date(2026, 11, 1))[0][0] == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/New_York", date(2026, 3, 8)),  # spring forward, an hour at 02:00
        ("America/New_York", date(2026, 11, 1)),  # fall back, 01:00-02:00 twice
        ("Europe/London", date(2026, 3, 29)),  # at 01:00
        ("Australia/Lord_Howe", date(2026, 10, 4)),  # half an hour
        ("Pacific/Apia", date(2011, 12, 30)),  # a whole day skipped
        ("Asia/Shanghai", date(2026, 3, 8)),  # no change at all
    ],
)
def test_wall_clock_times_map_to_instants_in_order_on_days_the_clock_changes(zone: str, day: date) -> None:
    # Every minute of the day, in order: a later wall time is never an earlier instant
    # (a window never runs backwards), and a time inside a gap is the jump itself.
    calendar = WorkCalendar(name="z", timezone=zone, weekend=frozenset())
    instants = [calendar.instant(day, minute) for minute in range(24 * 60 + 1)]
    assert instants == sorted(instants)
    for minute, moment in enumerate(instants[:-1]):
        shown = moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        asked = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute)
        if shown != asked:  # inside a gap: the clock read past it, and a second before it read before it
            just_before = (moment - timedelta(seconds=1)).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
            assert just_before < asked < shown, (minute, moment)
