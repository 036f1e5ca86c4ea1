"""Dropped quarantine entries: ``<data_dir>/quarantine-dropped.log``, one JSON object a line.

What stays of a quarantined mail that staff dropped (``quarantine drop ID --reason``):
who, when, why, and what it was (its stage, reason, source, size and SHA-256), never
its bytes. A line is appended with O_APPEND and fsynced before the entry leaves the
store, so a drop is never without its record. Kept out of ``state.json``, which every
commit rewrites: these lines only grow. Never rewritten; ``backup`` copies it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inbox_agent.adapters.files import append_json_line, whole_json_lines
from inbox_agent.adapters.sealed import StoreDamaged

FILE_NAME = "quarantine-dropped.log"


class DroppedQuarantineFile:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME

    def record(self, entry: dict[str, Any]) -> None:
        append_json_line(self.path, entry)

    def entries(self) -> list[dict[str, Any]]:
        """Every record, oldest first. A last line cut off by a crash mid-append (no
        newline) was never acknowledged, and is left out."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreDamaged(self.path, f"cannot be read ({exc})") from None
        records = []
        for number, record in whole_json_lines(data):
            if record is None:
                raise StoreDamaged(self.path, f"line {number} is not a JSON record")
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                raise StoreDamaged(self.path, f"line {number} is not a dropped-entry record")
            records.append(record)
        return records
