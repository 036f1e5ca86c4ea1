"""Reading the TOML document: the ``Section`` reader and the value parsers.

A ``Section`` reads typed values from one table and appends every problem, with its
key path, to the shared error list instead of raising, so one run reports them all.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from inbox_agent.config.settings import Secret

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}
# Ten years: no setting means more, and a longer one overflows the clock and the
# scheduler ("99999999999999999999d", inf) at the daemon's first use of it.
_MAX_DURATION = 3650 * 86400.0
# Deliberately loose: one "@", a dot in the domain, nothing that splits a list.
EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def parse_duration(value: object) -> float:
    """ "30s", "5m", "24h", "2d", or a bare number of seconds; at most ten years."""
    if isinstance(value, bool):
        raise ValueError('expected a duration like "30s", "5m", "24h"')
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f'expected a duration like "30s", "5m", "24h", got {value!r}')
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if math.isnan(seconds) or seconds < 0:
        raise ValueError(f"must be a duration of zero or more, got {value!r}")
    if seconds > _MAX_DURATION:
        raise ValueError(f"must be at most 3650d (ten years), got {value!r}")
    return seconds


def parse_size(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f'expected a size like "25MB", got {value!r}')
        size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    if size < 0:
        raise ValueError(f"must not be negative, got {value!r}")
    return size


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

    def duration(self, key: str, default: float, minimum: float = 0.0) -> float:
        value = self.raw(key, default)
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.errors.append(f"{self._key(key)}: {exc}")
            return default
        if seconds < minimum:
            self.errors.append(f"{self._key(key)}: must be at least {minimum:g}s, got {value!r}")
            return default
        return seconds

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
        if value and not EMAIL.match(value):
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
