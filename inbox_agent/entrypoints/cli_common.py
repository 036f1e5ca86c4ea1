"""What every command of the CLI shares: the console, exit codes, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 3

console = Console()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
