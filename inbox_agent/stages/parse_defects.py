"""The parser's defect list: every problem found in a mail, once, capped.

The parser never rejects a mail for being malformed; it records what was wrong
instead, so staff can see why a body looks odd. A hostile mail can produce a
defect per part, so the list is de-duplicated and capped here, in one place
shared by every step of the parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inbox_agent.stages.charsets import clean_header_text

MAX_DEFECTS = 100


@dataclass
class Defects:
    """Collects defects once each, capped so a hostile mail cannot flood the record."""

    items: list[str] = field(default_factory=list)
    dropped: int = 0

    def add(self, text: str) -> None:
        text = clean_header_text(text)[:300]
        if text in self.items:
            return
        if len(self.items) < MAX_DEFECTS:
            self.items.append(text)
        else:
            self.dropped += 1

    def result(self) -> tuple[str, ...]:
        if self.dropped:
            return (*self.items, f"defects: {self.dropped} more not recorded")
        return tuple(self.items)
