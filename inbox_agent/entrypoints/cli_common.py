"""What every command of the CLI shares: the console, exit codes, JSON output."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

from inbox_agent.domain.mask import mask_text

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 3

# No markup: what the CLI prints is customer text, server answers and file names, and
# rich would read "[masked]" or "[card ****1234]" as a style and drop it, and raise on a
# stray "[/bold]" in a subject. Colour goes through ``style=`` and ``flagged`` instead.
console = Console(markup=False)


def flagged(label: str, text: str = "", style: str = "red") -> Text:
    """``label`` in colour, then ``text`` as it is: "damaged: <the problem>"."""
    return Text.assemble((label, style), f" {text}" if text else "")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def customer_cell(text: str, width: int) -> str:
    """Customer-written text for a table cell: masked first (a one-time code in a subject
    must not reach a terminal, a cron mail or a journal), then cut."""
    return short(mask_text(text), width)
