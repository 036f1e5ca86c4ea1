"""Which character n-grams a category model reads: part of the model, kept in its file.

``stages/features.py`` forms the n-grams; a model's weights only mean something over
the n-grams it was fitted on, so the sizes travel with the model (model file format 6,
``config/model_file.py``) rather than living in the code alone. A model applied with
``train --apply`` before the sizes changed (formats 1-5) keeps reading the n-grams it
was fitted on, and a version of inbox_agent that forms other n-grams refuses a file of
a format it does not know instead of reading it with the wrong ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

LONGEST = 8  # no model has used more than 4; a larger size in a file is a damaged file


@dataclass(frozen=True)
class CharGrams:
    """The sizes of the character n-grams holding a Chinese character, and of those of
    Latin letters, digits and spaces alone."""

    chinese: tuple[int, ...]
    latin: tuple[int, ...]
    sizes: tuple[int, ...] = field(init=False, compare=False, repr=False)  # both, ascending

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(sorted({*self.chinese, *self.latin})))

    def to_file(self) -> dict[str, list[int]]:
        return {"chinese": list(self.chinese), "latin": list(self.latin)}

    @classmethod
    def from_file(cls, value: object) -> CharGrams:
        """The file's ``char_ngrams``; ValueError names what is wrong."""
        if not isinstance(value, Mapping) or set(value) != {"chinese", "latin"}:
            raise ValueError("char_ngrams: must hold chinese and latin, each a list of sizes")
        sizes = {}
        for key in ("chinese", "latin"):
            found = value[key]
            if not (
                type(found) is list
                and all(type(size) is int and 1 <= size <= LONGEST for size in found)
                and found == sorted(set(found))
            ):
                raise ValueError(
                    f"char_ngrams.{key}: must be sizes from 1 to {LONGEST}, ascending, each once"
                )
            sizes[key] = tuple(found)
        return cls(**sizes)


# What models are fitted on now (issue 13's twenty-ninth round, docs/MEASUREMENTS.md):
# Chinese 3-grams, Latin 4-grams.
CHAR_GRAMS = CharGrams(chinese=(3,), latin=(4,))
# What the model files of formats 1-5 were fitted on: Chinese 2- to 4-grams (a 4-gram
# holding a Chinese character and Latin letters among them), Latin 4-grams.
LEGACY_CHAR_GRAMS = CharGrams(chinese=(2, 3, 4), latin=(4,))
