"""The shipped jurisdictions and their calendars. Sources: docs/REGULATORY.md.

Config may override any field (``[regulatory.jurisdiction.KEY]``,
``[regulatory.calendar.NAME]``) or add its own; next steps (where an unsatisfied
customer can go) are never preset: their addresses and hotlines come from config only.
"""

from __future__ import annotations

from inbox_agent.domain.calendar import WorkCalendar
from inbox_agent.domain.jurisdiction import ClockRule, Jurisdiction

_CAL, _BIZ = "calendar", "business"

PRESET_CALENDARS: dict[str, WorkCalendar] = {
    # Mainland China: chinesecalendar knows the State Council's holidays and the make-up
    # working days; a lunch break between the two windows, as most offices keep.
    "cn": WorkCalendar(
        name="cn", timezone="Asia/Shanghai", windows=((9 * 60, 12 * 60), (13 * 60 + 30, 18 * 60)), source="cn"
    ),
    "us": WorkCalendar(name="us", timezone="America/New_York", source="holidays:US"),
    # TARGET2 closing days (the ECB calendar), Frankfurt time: a euro-area default;
    # a member state's own holidays: source = "holidays:DE" and so on.
    "ecb": WorkCalendar(name="ecb", timezone="Europe/Berlin", source="holidays:ECB"),
    # The UAE's working week has been Monday to Friday since 2022.
    "ae": WorkCalendar(name="ae", timezone="Asia/Dubai", source="holidays:AE"),
    "utc": WorkCalendar(name="utc"),
}

PRESET_JURISDICTIONS: dict[str, Jurisdiction] = {
    "CFPB": Jurisdiction(
        key="CFPB",
        title="US CFPB complaint process",
        source="CFPB Company Portal Manual, section 8.1 (response within 15 calendar days; "
        '"in progress", then a final response within 60 calendar days)',
        calendar="us",
        clocks={
            "substantive": ClockRule(15, _CAL),
            "holding": ClockRule(13, _CAL),
            "final": ClockRule(60, _CAL),
        },
    ),
    "PSD2": Jurisdiction(
        key="PSD2",
        title="EU payment services (PSD2)",
        source="Directive (EU) 2015/2366, art. 101(2): reply within 15 business days; "
        "holding reply with the reasons and a final reply within 35 business days",
        calendar="ecb",
        clocks={
            "substantive": ClockRule(15, _BIZ),
            "holding": ClockRule(13, _BIZ),
            "final": ClockRule(35, _BIZ),
        },
    ),
    "CN-PBoC": Jurisdiction(
        key="CN-PBoC",
        title="China: PBoC financial consumer protection (non-bank payment institutions)",
        source="《中国人民银行金融消费者权益保护实施办法》(PBoC Order 2020 No. 5); "
        "《银行业保险业消费投诉处理管理办法》(CBIRC Order 2020 No. 3): a decision within 15 days, "
        "30 when complex, a further 30 with approval",
        calendar="cn",
        clocks={
            "substantive": ClockRule(15, _CAL),
            "holding": ClockRule(13, _CAL),
            "final": ClockRule(30, _CAL),
        },
        extension=ClockRule(60, _CAL),
    ),
    "CBUAE": Jurisdiction(
        key="CBUAE",
        title="UAE Central Bank Consumer Protection Standards",
        source="CBUAE Consumer Protection Regulation and Standards (2021), art. 8: acknowledge "
        "within 2 business days, resolve within 10; the consumer may turn to the CBUAE after 30 days",
        calendar="ae",
        clocks={
            "acknowledgement": ClockRule(2, _BIZ),
            "substantive": ClockRule(10, _BIZ),
            "holding": ClockRule(8, _BIZ),
            "final": ClockRule(30, _CAL),
        },
    ),
}
