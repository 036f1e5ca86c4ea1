"""Apply the linear category model to one mail.

The same arithmetic scikit-learn's ``TfidfTransformer(sublinear_tf=True)`` and a
linear classifier do (over at most ``MAX_FEATURES`` n-grams of a mail): each known
feature weighs ``(1 + ln count) * idf``, the vector is scaled to length 1, each class
scores ``intercept + sum(x * weight)``. Class scores become probabilities by a
softmax with the model's fitted temperature, and a category's probability is the sum
of its classes' (a category holds several BANKING77 intents). Every step is kept so
a decision can be explained: the features that pushed the winning class hardest,
with their contributions.

The sums run as numpy array operations over the model's feature table
(``config/feature_table.py``): in pure Python, one multiply-add per (n-gram, class)
weight scattered over 23 MB of dicts cost 0.7 ms of a long mail's 1.7 ms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from inbox_agent.config.model_file import CategoryModel
from inbox_agent.stages.features import mail_features

if TYPE_CHECKING:  # numpy comes with the first model read (config/feature_table.py)
    import numpy as np
    from numpy.typing import NDArray

    from inbox_agent.config.feature_table import MailVector

# A long mail is read by its most informative n-grams (highest tf-idf): the common
# ones dropped are those with a weight for nearly every class, so a 600-character
# English mail costs what a short one does. 5-fold CV folds: no change at 200
# (BANKING77 macro-F1 0.947 / 0.933 against 0.947 / 0.934 uncapped); 120 cost 0.007.
MAX_FEATURES = 200


@dataclass(frozen=True, eq=False)  # eq: the arrays have no single truth value
class ModelVerdict:
    """What the model says about one mail, before any rule is applied."""

    scores: NDArray[np.float64]  # per class, before the temperature
    model: CategoryModel
    mail: MailVector  # the mail's kept n-grams and their normalised tf-idf

    @cached_property
    def vector(self) -> Mapping[str, float]:
        """The mail's normalised tf-idf features (known ones only), by name."""
        names = self.model.table.names
        return {
            names[row]: value
            for row, value in zip(self.mail.rows.tolist(), self.mail.values.tolist(), strict=True)
        }


def model_verdict(model: CategoryModel, counts: Mapping[str, int]) -> ModelVerdict:
    mail = model.table.mail_vector(counts, MAX_FEATURES)
    sums = model.table.class_sums(mail, len(model.classes))
    return ModelVerdict(model.head.scores(sums), model, mail)


def mail_verdict(
    model: CategoryModel, subject: str, text: str, generic: Sequence[tuple[str, ...]]
) -> ModelVerdict:
    """The model's verdict on one mail, over the n-grams it was fitted on."""
    return model_verdict(model, mail_features(subject, text, generic, model.char_grams))


def softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def category_logits(model: CategoryModel, verdict: ModelVerdict) -> dict[str, float]:
    """Log of each category's probability (the sum over its classes), temperature applied."""
    return model.head.category_logits(verdict.scores)


def second_opinion_logits(model: CategoryModel, verdict: ModelVerdict) -> dict[str, float] | None:
    """Log of each category's probability by the model's network (None without one)."""
    if model.network is None:
        return None
    return model.head.category_log_probabilities(model.network.class_probabilities(verdict.mail))


def blended_logits(
    model: CategoryModel, verdict: ModelVerdict, logits: Mapping[str, float]
) -> dict[str, float]:
    """``logits`` (the linear model's, perhaps with the curated terms' prior) plus the
    network's, before the blend temperature; ``logits`` as they are without a network."""
    second = second_opinion_logits(model, verdict)
    if second is None:
        return dict(logits)
    return {category: value + second[category] for category, value in logits.items()}


def best_class(model: CategoryModel, verdict: ModelVerdict, category: str) -> int:
    """The highest-scoring class of ``category`` (the intent that explains it best)."""
    return model.head.best_class(verdict.scores, category)


def contributions(
    model: CategoryModel, verdict: ModelVerdict, class_index: int, top: int
) -> tuple[tuple[str, float], ...]:
    """The ``top`` features that raised ``class_index``'s score most, with their share."""
    if class_index < 0 or top <= 0:
        return ()
    shares = model.table.class_shares(verdict.mail, class_index, top)
    # (-share, name): sorted as plain tuples, largest (rounded) share first, ties by name.
    pushed = sorted((-round(share, 3), name) for share, name in shares)
    return tuple((name, -share) for share, name in pushed[:top])
