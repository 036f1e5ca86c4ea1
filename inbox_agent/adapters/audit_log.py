"""The web app's audit log: ``<data_dir>/web-audit.log``, one JSON object a line.

Appended with O_APPEND and fsynced per line: a sign-in or an action is on disk before
the answer reaches the browser. Never rewritten; rotate it with logrotate's
``copytruncate`` if it grows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inbox_agent.adapters.files import append_json_line

FILE_NAME = "web-audit.log"


class AuditLogFile:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME

    def record(self, entry: dict[str, Any]) -> None:
        append_json_line(self.path, entry)

    def entries(self) -> list[dict[str, Any]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]
