"""Category models and staff corrections on disk, under ``<data_dir>``.

    models/model-<version>.json   every trained model, its metrics inside (never overwritten)
    models/current.json           {"current": FILE, "previous": [FILE, ...], "checksum":
                                  {"size": N, "sha256": HEX}}: the applied model, the ones
                                  applied before it (for --rollback), and the applied
                                  file's size and hash, checked at every start
    category-corrections.jsonl    one labelled example per staff correction

No ``current.json`` (or an empty ``current``) means the model shipped in the package.
Every write is atomic (``files.write_atomically``), files are 0600, folders 0700.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from inbox_agent.adapters.files import fsync_dir, write_atomically
from inbox_agent.config.categorizer import CURRENT_POINTER
from inbox_agent.config.model_file import CategoryModel, file_checksum, model_at, model_to_json

MODELS_DIR = "models"
CORRECTIONS_FILE = "category-corrections.jsonl"


def models_dir(data_dir: Path) -> Path:
    return data_dir / MODELS_DIR


class ModelStore:
    """The :class:`~inbox_agent.services.training.ModelRepository` of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = models_dir(data_dir)

    def _pointer(self) -> dict[str, Any]:
        path = self.root / CURRENT_POINTER
        if not path.is_file():
            return {"current": None, "previous": []}
        return json.loads(path.read_text(encoding="utf-8"))

    def _write_pointer(self, current: str | None, previous: list[str]) -> None:
        """Point at ``current`` after parsing it whole (a model that cannot be read is
        never applied: ModelFileError), with the checksum every start compares."""
        pointer: dict[str, Any] = {"current": current, "previous": previous}
        if current is not None:
            path = self.root / current
            model_at(path)
            pointer["checksum"] = file_checksum(path.read_bytes())
        write_atomically(self.root / CURRENT_POINTER, json.dumps(pointer, indent=1).encode("utf-8"))

    def save(self, model: CategoryModel) -> str:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"model-{model.version}.json"
        write_atomically(self.root / name, model_to_json(model).encode("utf-8"))
        return name

    def apply(self, name: str) -> None:
        if not (self.root / name).is_file():
            raise FileNotFoundError(f"no model {name} in {self.root}")
        pointer = self._pointer()
        previous = [pointer["current"], *pointer["previous"]] if pointer["current"] else pointer["previous"]
        self._write_pointer(name, previous)

    def rollback(self) -> str | None:
        pointer = self._pointer()
        previous = list(pointer["previous"])
        back = previous.pop(0) if previous else None
        self._write_pointer(back, previous)
        return back

    def current(self) -> str | None:
        return self._pointer()["current"]


def append_correction(data_dir: Path, example: dict[str, str]) -> None:
    """Add one labelled example to the corrections file (appended and fsynced)."""
    path = data_dir / CORRECTIONS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(example, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)


def corrections_file(data_dir: Path) -> Path:
    return data_dir / CORRECTIONS_FILE
