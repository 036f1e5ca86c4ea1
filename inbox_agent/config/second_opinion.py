"""The category model's second opinion: a small neural network beside the linear model.

One hidden layer (ReLU) over the mail's n-grams as the linear model's table knows them
(``FeatureTable.mail_vector``: sublinear tf-idf), those among its inputs scaled to
length 1 over themselves, with the linear model's classes as outputs. Its category
log-probabilities are added to the linear model's (with the curated terms' prior) and
the sum is scaled by its own fitted temperature (``blend_temperature``), so the
confidence stays calibrated.

Why a network: it weighs n-grams together, not one by one. Every linear variant tried
on 5-fold CV stayed within the folds' noise; the sum raised macro-F1 in every group
(docs/MEASUREMENTS.md, issue 13's twenty-fourth and twenty-fifth rounds; ``bench/second_opinion_cv.py``).
Why not the linear model's own vector (its 200 strongest n-grams, scaled with the
n-grams the network cannot read): 5-fold CV read it that way first and lost most of the
gain (BANKING77 0.950, English 0.915, Chinese 0.946 for the sum, against 0.952 / 0.926 /
0.951 read as here; the linear model alone 0.947 / 0.913 / 0.948).

Its first layer has a row only for the table's n-grams seen in at least two training
mails (``inputs``, as table rows, in row order): it reads the table's rows through
``position`` (table row -> its row, -1 for none) and needs no n-gram names of its own.
The first layer is kept as 8-bit codes with a 32-bit scale per hidden unit (41,054 x 64
in the shipped model: 2.6 MB, not 5.3 as 16-bit floats or 10.5 as 32-bit), and the
arithmetic is done in 32-bit floats. The release before's 16-bit layer, re-coded so,
decided all 9,152 mails of its data as before, no confidence moving by more than
0.001 (docs/MEASUREMENTS.md, issue 13's twenty-sixth round). The trainer rounds to the same codes before it fits the blend temperature,
so a model read from its file decides as the one just fitted.

In the file (model format 5, ``config/model_file.py``)::

    "network": {"inputs": {packed <i4}, "w1": {packed <i1}, "w1_scale": {packed <f4},
                "b1": {packed <f4}, "w2": {packed <f4}, "b2": {packed <f4},
                "hidden": 64, "blend_temperature": 1.3}

Format 4 (the release before) held the first layer as 16-bit floats and no
``w1_scale``; it is still read, and kept as it was written (its scale is 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from inbox_agent.config.packed_arrays import pack, unpack

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from inbox_agent.config.feature_table import MailVector

CODES, HALF, SINGLE, ROW = "<i1", "<f2", "<f4", "<i4"
_KEYS = {"inputs", "w1", "b1", "w2", "b2", "hidden", "blend_temperature"}
_KEYS_BY_LAYER = {CODES: _KEYS | {"w1_scale"}, HALF: _KEYS}  # format 5, format 4
_LEVELS = 127  # codes -127 .. 127: symmetric, so 0 stays 0


def eight_bit(weights: NDArray[Any]) -> tuple[NDArray[np.int8], NDArray[np.float32]]:
    """``weights`` (inputs x hidden) as 8-bit codes and a scale per hidden unit, so
    ``codes * scale`` is within half a step of each weight (a unit's largest weight
    sets its step; a unit of zeros keeps step 1)."""
    largest = np.abs(np.asarray(weights, dtype=np.float64)).max(axis=0, initial=0.0)
    scale = (largest / _LEVELS).astype(np.float32)
    # A unit of zeros, or of weights too small for a normal 32-bit step: all code 0.
    scale[scale < np.finfo(np.float32).tiny] = 1.0
    codes = np.clip(np.rint(weights / scale), -_LEVELS, _LEVELS).astype(np.int8)
    return codes, scale


class SecondOpinion:
    def __init__(
        self,
        inputs: NDArray[Any],
        w1: NDArray[Any],
        w1_scale: NDArray[Any],
        b1: NDArray[Any],
        w2: NDArray[Any],
        b2: NDArray[Any],
        blend_temperature: float,
    ) -> None:
        self.inputs = np.asarray(inputs, dtype=np.int32)
        # 8-bit codes (format 5) or 16-bit floats (format 4), times w1_scale per unit.
        self.w1 = np.asarray(w1)
        if self.w1.dtype not in (np.int8, np.float16):
            raise TypeError("network.w1: 8-bit codes or 16-bit floats (SecondOpinion.fitted rounds)")
        self.w1_scale = np.asarray(w1_scale, dtype=np.float32)
        self.b1 = np.asarray(b1, dtype=np.float32)
        self.w2 = np.asarray(w2, dtype=np.float32)
        self.b2 = np.asarray(b2, dtype=np.float32)
        self.blend_temperature = float(blend_temperature)
        self.position = np.full(0, -1, dtype=np.int32)  # sized by bind(), to the table
        for array in self.arrays:
            array.flags.writeable = False

    @classmethod
    def fitted(
        cls,
        inputs: NDArray[Any],
        weights: NDArray[Any],
        b1: NDArray[Any],
        w2: NDArray[Any],
        b2: NDArray[Any],
        blend_temperature: float,
    ) -> SecondOpinion:
        """The network as fitted (``weights``: its first layer in full precision), its
        first layer rounded to the 8-bit codes the file keeps: fitted and read decide alike."""
        codes, scale = eight_bit(weights)
        return cls(inputs, codes, scale, b1, w2, b2, blend_temperature)

    @classmethod
    def averaged(
        cls,
        inputs: NDArray[Any],
        networks: Sequence[tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]],
        blend_temperature: float,
    ) -> SecondOpinion:
        """Networks over the same ``inputs`` (each ``(w1, b1, w2, b2)``, as fitted) as one
        network whose outputs are the mean of theirs: their hidden units side by side,
        the second layer each one's divided by their number. The softmax of the mean of
        their outputs (before their softmax) equals the softmax of the mean of their
        log-probabilities: their average, at the cost of one wider network."""
        count = len(networks)
        w1 = np.hstack([np.asarray(n[0]) for n in networks])
        b1 = np.concatenate([np.asarray(n[1]) for n in networks])
        w2 = np.vstack([np.asarray(n[2]) for n in networks]) / count
        b2 = np.mean([np.asarray(n[3]) for n in networks], axis=0)
        return cls.fitted(inputs, w1, b1, w2, b2, blend_temperature)

    @property
    def arrays(self) -> tuple[NDArray[Any], ...]:
        return (self.inputs, self.w1, self.w1_scale, self.b1, self.w2, self.b2)

    @property
    def hidden(self) -> int:
        return len(self.b1)

    def check(self, table_rows: int, classes: int) -> None:
        """Shapes agree with each other, the table and the classes; numbers finite.
        ValueError names what is wrong."""
        hidden = len(self.b1)
        if self.w1.shape != (len(self.inputs), hidden) or not hidden:
            raise ValueError(f"network.w1: must be {len(self.inputs)} x {hidden} (inputs x hidden)")
        if self.w1_scale.shape != (hidden,) or not bool((self.w1_scale > 0).all()):
            raise ValueError(f"network.w1_scale: must be {hidden} numbers > 0 (one per hidden unit)")
        if self.w2.shape != (hidden, classes) or self.b2.shape != (classes,):
            raise ValueError(f"network.w2, b2: must be {hidden} x {classes} and {classes} (hidden x classes)")
        if len(self.inputs) and not (
            int(self.inputs.min()) >= 0
            and int(self.inputs.max()) < table_rows
            and bool((np.diff(self.inputs) > 0).all())
        ):
            raise ValueError("network.inputs: must be table rows, in order, each once")
        weights = self.arrays[1:]  # all but the inputs (table rows)
        if not all(np.isfinite(a).all() for a in weights) or not np.isfinite(self.blend_temperature):
            raise ValueError("network: weights must be finite numbers")
        if self.blend_temperature <= 0:
            raise ValueError("network.blend_temperature: must be > 0")

    def bind(self, table_rows: int) -> SecondOpinion:
        """Map the table's rows to the first layer's (done once, when the model is read)."""
        position = np.full(table_rows, -1, dtype=np.int32)
        position[self.inputs] = np.arange(len(self.inputs), dtype=np.int32)
        position.flags.writeable = False
        self.position = position
        return self

    def inputs_of(self, mail: MailVector) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
        """The mail as the network reads it: its n-grams among the inputs (as first-layer
        rows) and their tf-idf scaled to length 1 over those alone."""
        rows = self.position.take(mail.known_rows)
        mine = rows >= 0
        values = mail.known_values[mine]
        norm = float(np.sqrt(values @ values))
        return rows[mine], values / norm if norm else values

    def class_probabilities(self, mail: MailVector) -> NDArray[np.float64]:
        """P(class | mail) for every class."""
        rows, values = self.inputs_of(mail)
        first = self.w1.take(rows, axis=0).astype(np.float32)
        hidden = (values.astype(np.float32) @ first) * self.w1_scale + self.b1
        np.maximum(hidden, 0.0, out=hidden)
        out = (hidden @ self.w2 + self.b2).astype(np.float64)
        exps = np.exp(out - out.max())
        return exps / exps.sum()

    def rescaled(self, blend_temperature: float) -> SecondOpinion:
        """The same network with another blend temperature (the arrays are shared)."""
        network = SecondOpinion(
            self.inputs, self.w1, self.w1_scale, self.b1, self.w2, self.b2, blend_temperature
        )
        network.position = self.position
        return network

    @property
    def eight_bit(self) -> bool:
        """Whether the first layer is 8-bit codes (format 5), not 16-bit floats (format 4)."""
        return self.w1.dtype == np.int8

    def to_file(self) -> dict[str, Any]:
        section = {
            "hidden": self.hidden,
            "blend_temperature": self.blend_temperature,
            "inputs": pack(self.inputs, ROW),
            "w1": pack(self.w1.ravel(), CODES if self.eight_bit else HALF),
            "b1": pack(self.b1, SINGLE),
            "w2": pack(self.w2.ravel(), SINGLE),
            "b2": pack(self.b2, SINGLE),
        }
        return section | ({"w1_scale": pack(self.w1_scale, SINGLE)} if self.eight_bit else {})

    @classmethod
    def from_file(cls, value: object, table_rows: int, classes: int, eight_bit: bool = True) -> SecondOpinion:
        """The file's ``network`` section, checked; ValueError names what is wrong.
        ``eight_bit``: format 5 (8-bit codes and ``w1_scale``), else format 4."""
        layer = CODES if eight_bit else HALF
        keys = _KEYS_BY_LAYER[layer]
        if not isinstance(value, Mapping) or set(value) != keys:
            raise ValueError(f"network: must hold {', '.join(sorted(keys))}")
        hidden, temperature = value["hidden"], value["blend_temperature"]
        if type(hidden) is not int or hidden <= 0:
            raise ValueError("network.hidden: must be a whole number > 0")
        if type(temperature) not in (int, float):
            raise ValueError("network.blend_temperature: must be a number")
        inputs = unpack(value["inputs"], "network.inputs", (ROW,), np.int32)
        w1 = unpack(value["w1"], "network.w1", (layer,), np.dtype(layer).type)
        scale = (
            unpack(value["w1_scale"], "network.w1_scale", (SINGLE,), np.float32)
            if eight_bit
            else np.ones(hidden, dtype=np.float32)
        )
        w2 = unpack(value["w2"], "network.w2", (SINGLE,), np.float32)
        if len(w1) != len(inputs) * hidden or len(w2) != hidden * classes:
            raise ValueError(f"network.w1, w2: must hold inputs x {hidden} and {hidden} x {classes} numbers")
        network = cls(
            inputs,
            w1.reshape(len(inputs), hidden),
            scale,
            unpack(value["b1"], "network.b1", (SINGLE,), np.float32),
            w2.reshape(hidden, classes),
            unpack(value["b2"], "network.b2", (SINGLE,), np.float32),
            float(temperature),
        )
        network.check(table_rows, classes)
        return network.bind(table_rows)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecondOpinion):
            return NotImplemented
        same = all(
            a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
            for a, b in zip(self.arrays, other.arrays, strict=True)
        )
        return same and self.blend_temperature == other.blend_temperature

    __hash__ = None  # type: ignore[assignment]
