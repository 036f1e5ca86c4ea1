"""The category model file: a linear model over word and character n-grams, as JSON.

Written by ``bench/train_model.py`` (the shipped ``category_model.json`` next to this
module) and by ``inbox-agent train --apply`` (``<data_dir>/models/``); read here,
checked field by field, into a :class:`CategoryModel` the categorizer applies with
numpy array arithmetic (``stages/category_model.py``). No scikit-learn at run time:
the file holds the numbers scikit-learn learned, nothing else.

Shape (``format`` 3: columns; the four number columns packed as little-endian binary,
zlib-compressed, base64: ``config/packed_arrays.py``)::

    {"format": 3, "version": "2024-05-01T10:00:00Z-1a2b3c4d", "classes": [...],
     "class_category": [...], "intercepts": [...], "temperature": 1.7,
     "features": {"names": ["c:ab", "w:frozen", ...],
                  "idf": {"dtype": "<f8", "length": N, "zlib_base64": "..."},
                  "counts": {"dtype": "<i2", ...}, "classes": {"dtype": "<i2", ...},
                  "weights": {"dtype": "<f8", ...}},
     "metrics": {...}, "training": {...}}

``names`` in code-point order, each once; ``counts[i]`` weights belong to name ``i``,
listed name after name in ``classes`` (the class index of each) and ``weights``. The
shipped model reads in 0.07 s of CPU this way, against 0.23 s for the same numbers as
JSON lists (format 2).
Format 6, the one written, is format 3 with ``"char_ngrams": {"chinese": [3], "latin":
[4]}``, the character n-grams the model was fitted on (``config/char_grams.py``), and,
when the model has one, a ``"network"`` section: the second opinion, a small neural
network beside the linear model (``config/second_opinion.py``), its first layer as
8-bit codes (or 16-bit floats, kept so when read from a format 4 file). Versions before
format 6 refuse it: they would form other n-grams than the model was fitted on.
Formats 1-5 (files written before, e.g. applied models in a data directory) are still
read, with the n-grams they were fitted on (``LEGACY_CHAR_GRAMS``): format 5 is format
3 with an 8-bit network, format 4 with a 16-bit one; format 2 has format 3's columns as
plain JSON lists; format 1 is rows,
``"features": {"w:frozen": [idf, class, weight, class, weight, ...], ...}``.

A class is a BANKING77 intent or a category (the complaint mails are labelled by
category); ``class_category`` maps each class to its category, and a category's
probability is the sum of its classes'.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property, partial
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from inbox_agent.config.char_grams import CHAR_GRAMS, LEGACY_CHAR_GRAMS, CharGrams
from inbox_agent.domain.model import CATEGORIES

if TYPE_CHECKING:  # numpy is imported with the first model read, not by every command
    from inbox_agent.config.feature_table import ClassHead, FeatureTable
    from inbox_agent.config.second_opinion import SecondOpinion

SHIPPED_MODEL_FILE = "category_model.json"
FORMAT = 6  # written: format 3, the model's char_ngrams and its network if it has one
FORMAT_WITH_NETWORK = 5  # format 3 and a "network" section (config/second_opinion.py)
FORMAT_WITH_16_BIT_NETWORK = 4  # the same, its first layer as 16-bit floats (read, not fitted)
READABLE_FORMATS = (1, 2, 3, 4, 5, 6)

Row = tuple[float, dict[int, float]]  # a feature's idf and its {class index: weight}


class ModelFileError(ValueError):
    """The model file cannot be used; the message names the file and the reason."""


# Not the file's fault but the process's: passed on as the OSError they are, so the CLI
# names them as it names every permission error (exit 6), not as a bad model (exit 3).
DENIED_ERRNOS = frozenset({errno.EACCES, errno.EPERM})


def _cannot_read(path: Path, exc: OSError) -> Exception:
    return exc if exc.errno in DENIED_ERRNOS else ModelFileError(f"{path}: cannot read: {exc.strerror}")


@dataclass(frozen=True)
class CategoryModel:
    version: str
    classes: tuple[str, ...]
    class_category: tuple[str, ...]
    intercepts: tuple[float, ...]
    temperature: float  # softmax(scores / temperature): fitted so confidence is calibrated
    # feature -> (idf, {class index: weight}); only non-zero weights are kept. Given
    # as any mapping (the trainer and the tests build dicts), kept as a FeatureTable:
    # the arrays the categorizer reads (config/feature_table.py).
    features: Mapping[str, Row] = field(repr=False)
    metrics: Mapping[str, Any] = field(default_factory=dict, repr=False)
    training: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # The network beside the linear model (formats 4 to 6), None in older files and in a
    # model fitted without one: then the linear model decides alone.
    network: SecondOpinion | None = field(default=None, repr=False)
    # The character n-grams it was fitted on: what stages/features.py forms for it.
    char_grams: CharGrams = CHAR_GRAMS

    def __post_init__(self) -> None:
        from inbox_agent.config.feature_table import FeatureTable

        if not isinstance(self.features, FeatureTable):
            object.__setattr__(self, "features", FeatureTable.from_rows(self.features))

    @property
    def table(self) -> FeatureTable:
        return self.features  # type: ignore[return-value]  # made one by __post_init__

    @cached_property
    def head(self) -> ClassHead:
        """The classes as arrays (intercepts, category of each, temperature)."""
        from inbox_agent.config.feature_table import ClassHead

        return ClassHead(self.intercepts, self.class_category, self.temperature)


def _number_list(value: object, name: str, length: int) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != length:
        raise ModelFileError(f"{name}: must be a list of {length} numbers")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value):
        raise ModelFileError(f"{name}: must hold finite numbers only")
    return tuple(float(v) for v in value)


def _features(value: object, classes: int) -> FeatureTable:
    """The feature table, checked in bulk (tens of thousands of rows are read at start-up)."""
    if not isinstance(value, dict) or not value:
        raise ModelFileError("features: must be a non-empty table")
    for name, row in value.items():
        if type(row) is not list or len(row) % 2 != 1:
            raise ModelFileError(f"features.{name}: must be [idf, class, weight, ...]")
    indices = {index for row in value.values() for index in row[1::2]}
    if not all(type(i) is int and 0 <= i < classes for i in indices):
        raise ModelFileError("features: a class index is out of range")
    numbers = [row[0] for row in value.values()] + [w for row in value.values() for w in row[2::2]]
    if not {type(n) for n in numbers} <= {int, float}:  # finite: FeatureTable.check, below
        raise ModelFileError("features: idf and weights must be finite numbers")
    from inbox_agent.config.feature_table import FeatureTable

    table = FeatureTable.from_flat(value)
    try:
        table.check(classes)
    except ValueError as exc:
        raise ModelFileError(str(exc)) from None
    return table


def _feature_columns(value: object, classes: int, *, packed: bool = False) -> FeatureTable:
    """The feature table of format 2 (number lists) or 3 (packed number columns), checked in bulk."""
    if not isinstance(value, dict):
        raise ModelFileError("features: must be a table of columns")
    from inbox_agent.config.feature_table import FeatureTable

    read = FeatureTable.from_packed if packed else FeatureTable.from_columns
    try:
        return read(value, classes)
    except ValueError as exc:
        raise ModelFileError(str(exc)) from None


_FEATURE_READERS = {
    1: _features,
    2: _feature_columns,
    3: partial(_feature_columns, packed=True),
    4: partial(_feature_columns, packed=True),
    5: partial(_feature_columns, packed=True),
    6: partial(_feature_columns, packed=True),
}


def _network(data: Mapping[str, Any], table: FeatureTable, classes: int) -> SecondOpinion | None:
    version = data["format"]
    if version < FORMAT_WITH_16_BIT_NETWORK or (version == FORMAT and "network" not in data):
        return None
    from inbox_agent.config.second_opinion import SecondOpinion

    section = data.get("network")
    # Format 6 holds either layer; the 8-bit one has its scales beside it.
    scaled = isinstance(section, Mapping) and "w1_scale" in section
    eight_bit = version == FORMAT_WITH_NETWORK or (version == FORMAT and scaled)
    try:
        return SecondOpinion.from_file(section, len(table), classes, eight_bit)
    except ValueError as exc:
        raise ModelFileError(str(exc)) from None


def _char_grams(data: Mapping[str, Any]) -> CharGrams:
    if data["format"] < FORMAT:
        return LEGACY_CHAR_GRAMS
    try:
        return CharGrams.from_file(data.get("char_ngrams"))
    except ValueError as exc:
        raise ModelFileError(str(exc)) from None


def parse_model(text: str, source: str) -> CategoryModel:
    """The model in ``text``; raises ModelFileError naming ``source`` and what is wrong."""
    try:
        data = json.loads(text)
        # The text is several MB (the network's first layer): not kept while the arrays
        # are unpacked, so reading a model peaks lower (callers pass it on, unnamed).
        del text
        if not isinstance(data, dict) or data.get("format") not in READABLE_FORMATS:
            readable = ", ".join(map(str, READABLE_FORMATS[:-1])) + f" or {READABLE_FORMATS[-1]}"
            raise ModelFileError(f"not a category model of format {readable}")
        classes = data.get("classes")
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
            raise ModelFileError("classes: must be a non-empty list of names")
        mapping = data.get("class_category")
        if not isinstance(mapping, list) or len(mapping) != len(classes):
            raise ModelFileError("class_category: must name a category for every class")
        unknown = sorted({c for c in mapping if c not in CATEGORIES}, key=str)
        if unknown:
            raise ModelFileError(f"class_category: unknown categories {unknown}")
        temperature = _number_list([data.get("temperature")], "temperature", 1)[0]
        if temperature <= 0:
            raise ModelFileError("temperature: must be > 0")
        metrics, training = data.get("metrics", {}), data.get("training", {})
        if not isinstance(metrics, dict) or not isinstance(training, dict):
            raise ModelFileError("metrics, training: must be tables")
        table = _FEATURE_READERS[data["format"]](data.get("features"), len(classes))
        return CategoryModel(
            version=str(data.get("version", "")),
            classes=tuple(classes),
            class_category=tuple(mapping),
            intercepts=_number_list(data.get("intercepts"), "intercepts", len(classes)),
            temperature=temperature,
            features=table,
            metrics=MappingProxyType(metrics),
            training=MappingProxyType(training),
            network=_network(data, table, len(classes)),
            char_grams=_char_grams(data),
        )
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{source}: not valid JSON: {exc}") from None
    except ModelFileError as exc:
        raise ModelFileError(f"{source}: {exc}") from None


def model_to_json(model: CategoryModel) -> str:
    """The file text of ``model`` (format 6); :func:`parse_model` reads it back unchanged."""
    data = {
        "format": FORMAT,
        "version": model.version,
        "classes": list(model.classes),
        "class_category": list(model.class_category),
        "intercepts": list(model.intercepts),
        "temperature": model.temperature,
        "metrics": dict(model.metrics),
        "training": dict(model.training),
        "features": model.table.packed_columns(),
        "char_ngrams": model.char_grams.to_file(),
    }
    if model.network is not None:
        data["network"] = model.network.to_file()
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@cache
def shipped_model() -> CategoryModel:
    """The model shipped in the package; a broken one is a bug, so it raises."""
    shipped = resources.files("inbox_agent.config").joinpath(SHIPPED_MODEL_FILE)
    return parse_model(shipped.read_text(encoding="utf-8"), SHIPPED_MODEL_FILE)


@cache
def _model_at(path: Path, mtime_ns: int, size: int) -> CategoryModel:
    del mtime_ns, size  # part of the cache key only: a replaced file is read again
    return parse_model(_text_of(path), str(path))


def _text_of(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: cannot read: {exc}") from None


def model_at(path: Path) -> CategoryModel:
    """The model in the file ``path`` (parsed once per version of the file)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise _cannot_read(path, exc) from None
    return _model_at(path, stat.st_mtime_ns, stat.st_size)


def file_checksum(data: bytes) -> dict[str, Any]:
    """What the pointer records about an applied model file: its size and SHA-256."""
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def check_model_file(path: Path, expected: Mapping[str, Any] | None) -> None:
    """The cheap start-up check of an applied model: the file is there, readable and,
    when the pointer recorded them, of the size and SHA-256 it had when applied (the
    file was fully parsed then). Raises ModelFileError naming the file and the cause."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _cannot_read(path, exc) from None
    if expected and file_checksum(data) != {k: expected.get(k) for k in ("size", "sha256")}:
        found = file_checksum(data)
        raise ModelFileError(
            f"{path}: damaged: {found['size']} bytes, sha256 {found['sha256'][:12]}..., but it was applied "
            f"with {expected.get('size')} bytes, sha256 {str(expected.get('sha256'))[:12]}..."
        )


class ModelRef:
    """A category model named now and parsed on first use, then kept.

    Parsing the model takes a quarter of a second; commands that never categorize
    (``status``, ``cases``, ``show``...) never pay it. The start-up check that the
    file is whole happens before (:func:`check_model_file`); the daemon and ``check``
    parse at start (:meth:`get`) so a model that cannot be read stops them there.
    """

    def __init__(self, source: str, load: Callable[[], CategoryModel]) -> None:
        self.source = source  # "shipped" or the file's path: named in errors and by `check`
        self._load = load
        self._model: CategoryModel | None = None
        self.unreadable: OSError | None = None  # set by unreadable_model

    @classmethod
    def of(cls, model: CategoryModel) -> ModelRef:
        """A reference to a model already in memory (tests, measuring)."""
        ref = cls(f"in memory ({model.version or 'unversioned'})", lambda: model)
        ref._model = model
        return ref

    @property
    def parsed(self) -> bool:
        return self._model is not None

    def get(self) -> CategoryModel:
        if self._model is None:
            self._model = self._load()
        return self._model

    def __repr__(self) -> str:
        return f"ModelRef({self.source!r}, parsed={self._model is not None})"


def unreadable_model(error: OSError) -> ModelRef:
    """The applied model, which this process may not read: raises ``error`` when used.

    Not the shipped model in its place (that would silently undo `train --apply`), and
    not refused at start-up: commands that never categorize (`status`, `cases`, `show`)
    still run, and reach the store's own permission error if it has one."""

    def load() -> CategoryModel:
        raise error

    ref = ModelRef(f"{error.filename} (cannot be read: {error.strerror})", load)
    ref.unreadable = error
    return ref
