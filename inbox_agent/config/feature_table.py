"""The category model's n-grams as arrays (numpy): what the categorizer reads per mail.

A model holds ~71,000 n-grams and ~275,000 non-zero (n-gram, class) weights. As one
Python dict per n-gram they took 23 MB per process and every mail paid a scattered
walk through them; here they are four flat arrays, compressed sparse rows:

* ``names``: the n-grams in code-point order, so a row number orders n-grams as
  their names do (the categorizer breaks tf-idf ties by name, and can do it by row);
* ``idf[row]``;
* ``weights[starts[row]:starts[row + 1]]``, with the class of each in ``classes``
  at the same positions.

About 4 MB for the shipped model. The arithmetic over it is here too
(``mail_vector``, ``class_sums``, ``class_shares``, and :class:`ClassHead` from class
sums to category probabilities), so numpy is imported with the
first model read and by nothing else (``config/packed_arrays.py``, which reads and
writes the file's packed columns, is imported from here). The table is also a read-only ``Mapping``
``name -> (idf, {class: weight})``, the shape the model file and the trainer use, so
a model file is written back from it as it was read (its rows in name order, as the
trainer writes them).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # numpy.typing takes 30 ms to import: annotations only
    from numpy.typing import NDArray

from inbox_agent.config.model_file import Row
from inbox_agent.config.packed_arrays import FLOAT, INTEGERS, pack, smallest_integer_type, unpack


class FeatureTable(Mapping[str, Row]):
    def __init__(
        self,
        names: list[str],
        idf: NDArray[np.float64],
        starts: NDArray[np.int64],
        classes: NDArray[np.int32],
        weights: NDArray[np.float64],
    ) -> None:
        self.names = names
        self.index = {name: row for row, name in enumerate(names)}
        self.idf = idf
        self.starts = starts
        self.classes = classes
        self.weights = weights
        for array in (idf, starts, classes, weights):
            array.flags.writeable = False  # shared by every mail (and forked worker)

    @classmethod
    def from_flat(cls, rows: Mapping[str, list[float]]) -> FeatureTable:
        """From the file's rows ``name -> [idf, class, weight, class, weight, ...]``."""
        names = sorted(rows)
        flat = [rows[name] for name in names]
        lengths = np.fromiter((len(row) // 2 for row in flat), dtype=np.int64, count=len(flat))
        starts = np.zeros(len(flat) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        total = int(starts[-1])
        return cls(
            names,
            np.fromiter((row[0] for row in flat), dtype=np.float64, count=len(flat)),
            starts,
            np.fromiter((c for row in flat for c in row[1::2]), dtype=np.int32, count=total),
            np.fromiter((w for row in flat for w in row[2::2]), dtype=np.float64, count=total),
        )

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any], classes: int) -> FeatureTable:
        """From the file's columns (format 2): ``names`` in code-point order, ``idf`` and
        ``counts`` (weights per name) for each name, then every weight's ``classes`` and
        ``weights``, name after name. Checked here, in bulk; ValueError names what is wrong."""
        names, counts = columns.get("names"), columns.get("counts")
        if not _all_of(names, str) or not names:
            raise ValueError("features.names: must be a non-empty list of strings")
        if names != sorted(names) or len(set(names)) != len(names):  # sorted: linear on sorted names
            raise ValueError("features.names: must be in code-point order, each once")
        if not _all_of(counts, int) or len(counts) != len(names) or min(counts) < 0:
            raise ValueError("features.counts: must give a count >= 0 for every name")
        total = sum(counts)
        if not _all_of(columns.get("classes"), int) or len(columns["classes"]) != total:
            raise ValueError(f"features.classes: must be a list of {total} class indices")
        for key, length in (("idf", len(names)), ("weights", total)):
            if not _all_of(columns.get(key), int, float) or len(columns[key]) != length:
                raise ValueError(f"features.{key}: must be a list of {length} numbers")
        starts = np.zeros(len(names) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        table = cls(
            names,
            np.array(columns["idf"], dtype=np.float64),
            starts,
            np.array(columns["classes"], dtype=np.int32),
            np.array(columns["weights"], dtype=np.float64),
        )
        table.check(classes)
        return table

    @classmethod
    def from_packed(cls, columns: Mapping[str, Any], classes: int) -> FeatureTable:
        """From the file's columns of format 3: ``names`` as in format 2, the four number
        columns packed (``config/packed_arrays.py``). ValueError names what is wrong."""
        names = columns.get("names")
        if not _all_of(names, str) or not names:
            raise ValueError("features.names: must be a non-empty list of strings")
        if names != sorted(names) or len(set(names)) != len(names):
            raise ValueError("features.names: must be in code-point order, each once")
        if set(columns) != {"names", "idf", "counts", "classes", "weights"}:
            raise ValueError("features: must hold names, idf, counts, classes and weights")
        counts = unpack(columns["counts"], "features.counts", INTEGERS, np.int64)
        if len(counts) != len(names) or (len(counts) and int(counts.min()) < 0):
            raise ValueError("features.counts: must give a count >= 0 for every name")
        starts = np.zeros(len(names) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        table = cls(
            names,
            _sized(unpack(columns["idf"], "features.idf", (FLOAT,), np.float64), len(names), "idf"),
            starts,
            _sized(
                unpack(columns["classes"], "features.classes", INTEGERS[:2], np.int32),
                int(starts[-1]),
                "classes",
            ),
            _sized(
                unpack(columns["weights"], "features.weights", (FLOAT,), np.float64),
                int(starts[-1]),
                "weights",
            ),
        )
        table.check(classes)
        return table

    def check(self, classes: int) -> None:
        """Class indices in range and each at most once per n-gram (a second weight for the
        same class would be added up, not replace the first); finite numbers."""
        if len(self.classes) and not (int(self.classes.min()) >= 0 and int(self.classes.max()) < classes):
            raise ValueError("features: a class index is out of range")
        if not (np.isfinite(self.idf).all() and np.isfinite(self.weights).all()):
            raise ValueError("features: idf and weights must be finite numbers")
        owner = np.repeat(np.arange(len(self.names), dtype=np.int64), np.diff(self.starts))
        pairs = np.sort(owner * classes + self.classes)  # sorted: np.unique's hashing is 10x slower
        twice = np.flatnonzero(pairs[1:] == pairs[:-1])
        if len(twice):
            name = self.names[int(pairs[twice[0]]) // classes]
            raise ValueError(f"features: a class has two weights for one n-gram ({name!r})")

    def packed_columns(self) -> dict[str, Any]:
        """The file's columns (format 3), as ``from_packed`` reads them."""
        counts = np.diff(self.starts)
        return {
            "names": list(self.names),
            "idf": pack(self.idf, FLOAT),
            "counts": pack(counts, smallest_integer_type(counts)),
            "classes": pack(self.classes, smallest_integer_type(self.classes)),
            "weights": pack(self.weights, FLOAT),
        }

    @classmethod
    def from_rows(cls, rows: Mapping[str, Row]) -> FeatureTable:
        """From ``name -> (idf, {class: weight})`` (the trainer's and the tests' shape)."""
        return cls.from_flat(
            {
                name: [idf, *(x for pair in weights.items() for x in pair)]
                for name, (idf, weights) in rows.items()
            }
        )

    def __getitem__(self, name: str) -> Row:
        row = self.index[name]
        start, end = int(self.starts[row]), int(self.starts[row + 1])
        pairs = zip(self.classes[start:end].tolist(), self.weights[start:end].tolist(), strict=True)
        return float(self.idf[row]), dict(pairs)

    def __contains__(self, name: object) -> bool:
        return name in self.index

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FeatureTable):
            return super().__eq__(other)  # any mapping: compared row by row
        return self.names == other.names and all(
            np.array_equal(mine, theirs)
            for mine, theirs in zip(
                (self.idf, self.starts, self.classes, self.weights),
                (other.idf, other.starts, other.classes, other.weights),
                strict=True,
            )
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking mapping: unhashable like dict

    def mail_vector(self, counts: Mapping[str, int], most: int) -> MailVector:
        """scikit-learn's sublinear tf-idf of the known n-grams of ``counts`` (``(1 + ln count) *
        idf``), at most ``most`` of the highest (ties: by name, i.e. by row), scaled to length 1."""
        # map over a C method: no Python frame per n-gram (a long mail has ~450)
        rows = np.fromiter(map(self.index.get, counts, repeat(-1)), dtype=np.intp, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        known = rows >= 0
        rows, values = rows[known], np.log(tf[known])
        values += 1.0
        values *= self.idf[rows]
        every = (rows, values.copy())  # before the cap and the scaling: the network's input
        if len(rows) > most:
            keep = np.lexsort((rows, -values))[:most]  # highest first, then lowest row
            rows, values = rows[keep], values[keep]
        norm = math.sqrt(float(values @ values))
        if norm:
            values /= norm
        starts = self.starts[rows]
        lengths = self.starts[rows + 1] - starts
        owners = np.repeat(np.arange(len(rows)), lengths)
        # positions: starts[i], starts[i] + 1, ... for each kept row i, in one array
        firsts = np.cumsum(lengths) - lengths
        positions = np.arange(int(lengths.sum())) + np.repeat(starts - firsts, lengths)
        # Gathered once: the class sums and the explanation both read them.
        products = self.weights.take(positions) * values.take(owners)
        return MailVector(rows, values, self.classes.take(positions), products, owners, *every)

    def class_sums(self, vector: MailVector, classes: int) -> NDArray[np.float64]:
        """For each class, the sum of (tf-idf * weight) over the mail's n-grams."""
        return np.bincount(vector.classes, weights=vector.products, minlength=classes)

    def class_shares(self, vector: MailVector, class_index: int, top: int) -> list[tuple[float, str]]:
        """(tf-idf * weight, n-gram) of the mail's n-grams that raise ``class_index``'s score:
        every one whose share rounded to 3 decimals can be among the ``top`` largest so rounded."""
        mine = vector.classes == class_index
        shares = vector.products[mine]
        rows = vector.rows.take(vector.owners[mine])
        raising = shares > 0
        shares, rows = shares[raising], rows[raising]
        if len(shares) > top > 0:
            # Rounding moves a share by at most 0.0005, so a share can only round to or above
            # the top-th largest's rounding if it is within 0.001 of that share.
            floor = float(np.partition(shares, len(shares) - top)[len(shares) - top]) - 0.0011
            near = shares >= floor
            shares, rows = shares[near], rows[near]
        names = self.names
        return [(share, names[row]) for share, row in zip(shares.tolist(), rows.tolist(), strict=True)]


def _sized(array: NDArray[Any], length: int, name: str) -> NDArray[Any]:
    if len(array) != length:
        raise ValueError(f"features.{name}: must hold {length} numbers, holds {len(array)}")
    return array


def _all_of(values: object, *types: type) -> bool:
    """``values`` is a list whose items are all of exactly these types (no bool for int)."""
    return type(values) is list and set(map(type, values)) <= set(types)


@dataclass(frozen=True, eq=False)  # eq: the arrays have no single truth value
class MailVector:
    """One mail's n-grams as the model sees them, and where their weights are."""

    rows: NDArray[np.intp]  # the kept n-grams, as table rows
    values: NDArray[np.float64]  # their tf-idf, scaled to length 1
    # Every (n-gram, class) weight of those rows, in table order:
    classes: NDArray[np.int32]  # its class
    products: NDArray[np.float64]  # the n-gram's tf-idf times the weight: its share of the class score
    owners: NDArray[np.intp]  # the index (in ``rows``) of its n-gram
    # Every known n-gram of the mail and its tf-idf, not capped, not scaled: what the
    # second opinion reads (config/second_opinion.py), scaled over its own inputs.
    known_rows: NDArray[np.intp]
    known_values: NDArray[np.float64]


class ClassHead:
    """The model's classes as arrays: what turns a mail's class sums into category
    probabilities, over every class (85 in the shipped model) in a few array operations."""

    def __init__(
        self, intercepts: Sequence[float], class_category: Sequence[str], temperature: float
    ) -> None:
        self.categories = tuple(dict.fromkeys(class_category))  # in order of first class
        position = {category: index for index, category in enumerate(self.categories)}
        self.intercepts = np.array(intercepts, dtype=np.float64)
        self.category_of = np.array([position[c] for c in class_category], dtype=np.intp)
        self.temperature = temperature
        for array in (self.intercepts, self.category_of):
            array.flags.writeable = False

    def scores(self, sums: NDArray[np.float64]) -> NDArray[np.float64]:
        """Each class's score: its intercept plus the mail's sum."""
        return sums + self.intercepts

    def category_logits(self, scores: NDArray[np.float64]) -> dict[str, float]:
        """Log of each category's probability: softmax(scores / temperature), summed per category."""
        tempered = scores / self.temperature
        exps = np.exp(tempered - tempered.max())
        return self.category_log_probabilities(exps / exps.sum())

    def category_log_probabilities(self, class_probabilities: NDArray[np.float64]) -> dict[str, float]:
        """Log of each category's probability, the sum of its classes' (floored at 1e-12)."""
        totals = np.bincount(self.category_of, weights=class_probabilities, minlength=len(self.categories))
        logs = np.log(np.maximum(totals, 1e-12)).tolist()
        return dict(zip(self.categories, logs, strict=True))

    def best_class(self, scores: NDArray[np.float64], category: str) -> int:
        """The highest-scoring class of ``category`` (the lowest index on a tie), -1 for none."""
        if category not in self.categories:
            return -1
        mine = np.flatnonzero(self.category_of == self.categories.index(category))
        return int(mine[int(np.argmax(scores[mine]))])
