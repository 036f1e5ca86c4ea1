"""Logging for the process: every handler masks card, ID and phone numbers and codes."""

from __future__ import annotations

import logging

from inbox_agent.domain.mask import MaskingFilter


def setup_logging(level: str = "INFO", file: str | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if file:
        handlers.append(logging.FileHandler(file, encoding="utf-8"))
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(MaskingFilter())
        root.addHandler(handler)
    root.setLevel(level)
    # imaplib's per-command debug output would log credentials and every byte of mail.
    logging.getLogger("imapclient").setLevel(max(logging.INFO, logging.getLevelName(level)))
