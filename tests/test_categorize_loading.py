"""The category model is parsed on first use, checked cheaply at every start (issue 13).

Commands that never categorize (``status``, ``cases``, ``show``) never parse it; the
ones that do (``run``, ``check``, ``classify``, ``train``) parse it at start, so a
model that cannot be read stops them there (exit 3, the file named), never a mail
later. An applied model whose bytes changed since ``--apply`` is refused by every
command from its size and SHA-256.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import cli, complaint, write_config

from inbox_agent.adapters.model_store import ModelStore
from inbox_agent.config.loader import ConfigError, load_config
from inbox_agent.config.model_file import ModelFileError, model_to_json, shipped_model

EXIT_CONFIG = 3


def _applied(tmp_path: Path) -> tuple[Path, Path]:
    """A config whose data directory has an applied model (a copy of the shipped one)."""
    config = write_config(tmp_path)
    store = ModelStore(tmp_path / "data")
    name = store.save(replace(shipped_model(), version="test-applied"))
    store.apply(name)
    return config, tmp_path / "data" / "models" / name


def test_loading_the_config_does_not_parse_the_model(tmp_path: Path) -> None:
    config, _ = _applied(tmp_path)
    rules = load_config(config).rules
    assert rules.model_ref is not None and not rules.model_ref.parsed
    assert rules.model is not None and rules.model.version == "test-applied"
    assert rules.model_ref.parsed


def test_a_changed_applied_model_is_refused_by_every_command(tmp_path: Path) -> None:
    config, model_file = _applied(tmp_path)
    data = bytearray(model_file.read_bytes())
    data[len(data) // 2] ^= 1  # one bit: still the same size
    model_file.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="damaged"):
        load_config(config)
    for command in (("status",), ("cases",), ("run", "--once")):
        result = cli(config, *command)
        assert result.returncode == EXIT_CONFIG, command
        assert model_file.name in result.stderr and "damaged" in result.stderr


def test_an_unreadable_model_stops_the_commands_that_categorize_at_start(tmp_path: Path) -> None:
    config, model_file = _applied(tmp_path)
    # An older pointer without a checksum: the start-up check cannot see the damage,
    # so the parse at start must.
    pointer = model_file.parent / "current.json"
    record = json.loads(pointer.read_text())
    del record["checksum"]
    pointer.write_text(json.dumps(record))
    model_file.write_text('{"format": 1, "classes": []}')
    assert cli(config, "status").returncode == 0  # never categorizes: never parses
    mail = tmp_path / "one.eml"
    mail.write_bytes(complaint("bo@customer.example", "refund", "I was charged twice."))
    for command in (("run", "--once"), ("classify", str(mail)), ("check",)):
        result = cli(config, *command)
        assert result.returncode == EXIT_CONFIG, (command, result.stdout, result.stderr)
        assert model_file.name in result.stderr and "classes" in result.stderr
    # The way back never needs the broken model.
    back = cli(config, "train", "--rollback")
    assert back.returncode == 0, back.stderr
    assert cli(config, "classify", str(mail)).returncode == 0


def test_a_model_that_cannot_be_parsed_is_never_applied(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "data")
    name = store.save(replace(shipped_model(), version="broken"))
    path = tmp_path / "data" / "models" / name
    path.write_text(model_to_json(shipped_model()).replace('"format":6', '"format":99', 1))
    with pytest.raises(ModelFileError, match="format"):
        store.apply(name)
    assert store.current() is None
