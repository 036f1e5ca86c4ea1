"""Fit the category model with scikit-learn and export it as a :class:`CategoryModel`.

scikit-learn is needed here only, by ``inbox-agent train`` and
``bench/train_model.py``: the optional extra ``inbox-agent[train]``. The daemon
applies the exported numbers with numpy alone (``stages/category_model.py``).

Recipe (chosen by 5-fold cross-validation on the training part only, see
``bench/train_model.py``): the features of ``stages/features.py``; features seen in
fewer than ``min_df`` training mails dropped; sublinear tf-idf, scaled to length 1; a
linear SVM (``LinearSVC``, one-vs-rest) averaged with a logistic regression over the
classes (BANKING77 intents, and the categories of the complaint mails); a softmax temperature fitted on
out-of-fold scores so the confidence is calibrated. Beside it, the second opinion
(``config/second_opinion.py``): scikit-learn's ``MLPClassifier`` with one hidden layer
over the mails as the fitted linear model's table reads them, its category
log-probabilities added to the linear model's, with a blend temperature fitted out of
fold as well (a network per temperature fold: ``train`` takes about 3 minutes longer).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from inbox_agent.config.model_file import CategoryModel
from inbox_agent.config.second_opinion import SecondOpinion
from inbox_agent.stages.category_model import blended_logits, category_logits, mail_verdict
from inbox_agent.stages.features import mail_features

TRAIN_EXTRA_HINT = "pip install 'inbox-agent[train]'  (scikit-learn and numpy)"
# One-sentence chat queries (BANKING77, and the queries written for this project in its
# style): each counts once; a complaint mail counts ``Recipe.mail_weight`` times.
SENTENCE_SOURCES = frozenset({"banking77", "banking77_style"})


class TrainingUnavailable(RuntimeError):
    """scikit-learn is not installed; the message says how to install it."""


@dataclass(frozen=True)
class Example:
    subject: str
    text: str
    label: str  # the class: a BANKING77 intent, or the category itself
    category: str
    language: str  # "zh" | "zh-Hant" | "en"
    source: str  # "banking77", "complaints", "labelled", "correction"


@dataclass(frozen=True)
class Recipe:
    c: float = 1.0  # LinearSVC regularisation: larger fits the training mails more closely
    # 1: an n-gram seen in one training mail is kept. 5-fold CV on the training part,
    # two fold seeds, against 2: hand-written English 0.933 / 0.934 against 0.916 / 0.913,
    # BANKING77 0.941 / 0.942 against 0.941 / 0.941, hand-written Chinese 0.980 / 0.971
    # against 0.980 / 0.974 (weighted 0.963 / 0.962 against 0.959 / 0.957); twice the
    # n-grams in the file, about the same number of weights.
    min_df: int = 1
    prune: float = 0.05  # weights smaller than this are dropped from the file
    # ... and weights whose |weight * idf| is smaller than this: small weights of common
    # features, a fifth of the work per mail (2 CV folds: BANKING77 macro-F1 -0.003 at
    # most at 0.3, hand-written mails unchanged; 0.5 halves the work, costs up to 0.007).
    min_contribution: float = 0.3
    # Complaint mails count this many times a BANKING77 sentence: they are few, and
    # they are what the daemon reads.
    mail_weight: float = 3.0
    digits: int = 3  # weights are rounded to this many decimals
    temperature_folds: int = 3
    # "category": one class per category (8 weights a feature at most: fast);
    # "intent": BANKING77's 77 intents as classes, summed into categories.
    level: str = "intent"
    # "l1" learns sparse weights: few classes per feature, so each mail costs less.
    penalty: str = "l2"
    # Weigh each class inversely to its number of examples (scikit-learn's "balanced").
    balanced: bool = False
    # "svm": LinearSVC alone; "svm+lr": the average of LinearSVC(c) and
    # LogisticRegression(c * lr_c_factor), each scaled to the same size (5-fold CV on
    # the training part, prior 0.2: weighted macro-F1 0.959 against 0.954 for the SVM
    # alone, BANKING77 0.941 against 0.939, hand-written en 0.917 against 0.899).
    classifier: str = "svm+lr"
    lr_c_factor: float = 10.0
    # The second opinion (config/second_opinion.py): a network with this many hidden
    # units, fitted for ``network_passes`` passes over the mail vectors the linear model
    # reads, on the n-grams seen in at least ``network_min_df`` training mails. 0: none.
    # 64 units: 5-fold CV as 128 within 0.005 in every group, half the memory.
    hidden: int = 64
    # Networks from different random starts, averaged (one network of networks * hidden
    # units, SecondOpinion.averaged). 1: on 5-fold CV 2 and 3 read within noise of 1
    # (BANKING77 0.953 / 0.952 against 0.952, en 0.922 / 0.924 against 0.926, zh 0.953
    # against 0.951; docs/MEASUREMENTS.md) for 2-3 times the first layer's memory.
    networks: int = 1
    network_passes: int = 25
    network_min_df: int = 2

    def label_of(self, example: Example) -> str:
        return example.category if self.level == "category" else example.label


def _sklearn() -> Any:
    try:
        import numpy
        from sklearn.feature_extraction import DictVectorizer
        from sklearn.feature_extraction.text import TfidfTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.svm import LinearSVC
    except ImportError as exc:
        raise TrainingUnavailable(
            f"training needs scikit-learn ({exc.name} is missing): {TRAIN_EXTRA_HINT}"
        ) from None
    return numpy, DictVectorizer, TfidfTransformer, LinearSVC, LogisticRegression


def _fit_weights(
    examples: Sequence[Example], generic: Sequence[tuple[str, ...]], recipe: Recipe
) -> CategoryModel:
    numpy, dict_vectorizer, tfidf, _, _ = _sklearn()
    vectorizer = dict_vectorizer()
    matrix = vectorizer.fit_transform([mail_features(e.subject, e.text, generic) for e in examples])
    seen_in = numpy.asarray((matrix > 0).sum(axis=0)).ravel()
    keep = numpy.flatnonzero(seen_in >= recipe.min_df)
    matrix = matrix[:, keep]
    transformer = tfidf(sublinear_tf=True).fit(matrix)
    weights_of = [1.0 if e.source in SENTENCE_SOURCES else recipe.mail_weight for e in examples]
    coef, intercept, labels = _linear(
        recipe, transformer.transform(matrix), [recipe.label_of(e) for e in examples], weights_of
    )
    category_of = {recipe.label_of(e): e.category for e in examples}
    names = vectorizer.get_feature_names_out()[keep]
    weights = numpy.round(coef, recipe.digits)
    weights[numpy.abs(weights) < recipe.prune] = 0.0
    weights[numpy.abs(weights * transformer.idf_) < recipe.min_contribution] = 0.0
    features = {}
    for column, name in enumerate(names):
        nonzero = numpy.flatnonzero(weights[:, column])
        if len(nonzero):
            pairs = {int(i): float(weights[i, column]) for i in nonzero}
            features[str(name)] = (round(float(transformer.idf_[column]), 4), pairs)
    classes = tuple(str(c) for c in labels)
    return CategoryModel(
        version="",
        classes=classes,
        class_category=tuple(category_of[c] for c in classes),
        intercepts=tuple(round(float(b), 4) for b in intercept),
        temperature=1.0,
        features=features,
    )


def _linear(recipe: Recipe, matrix: Any, labels: list[str], weights: list[float]) -> tuple[Any, Any, Any]:
    """(coefficients, intercepts, classes) of the recipe's linear classifier."""
    numpy, _, _, linear_svc, logistic = _sklearn()
    balanced = "balanced" if recipe.balanced else None
    svm = linear_svc(
        C=recipe.c, penalty=recipe.penalty, dual=recipe.penalty == "l2", max_iter=5000, class_weight=balanced
    ).fit(matrix, labels, sample_weight=weights)
    if recipe.classifier == "svm":
        return svm.coef_, svm.intercept_, svm.classes_
    lr = logistic(C=recipe.c * recipe.lr_c_factor, max_iter=2000, class_weight=balanced)
    lr.fit(matrix, labels, sample_weight=weights)
    assert list(lr.classes_) == list(svm.classes_)
    # Log-odds are on another scale than SVM margins: scaled to the SVM's size first.
    k = numpy.linalg.norm(svm.coef_) / numpy.linalg.norm(lr.coef_)
    return (svm.coef_ + k * lr.coef_) / 2, (svm.intercept_ + k * lr.intercept_) / 2, svm.classes_


def _mail_matrix(
    model: CategoryModel, examples: Sequence[Example], generic: Sequence[tuple[str, ...]]
) -> Any:
    """The examples' known n-grams as the daemon reads them (``MailVector.known_rows``
    and ``known_values``: sublinear tf-idf, unscaled), one row per mail, in the columns
    of their table rows."""
    from scipy.sparse import csr_matrix

    numpy = _sklearn()[0]
    vectors = [mail_verdict(model, e.subject, e.text, generic).mail for e in examples]
    starts = numpy.cumsum([0] + [len(v.known_rows) for v in vectors])
    rows = numpy.concatenate([v.known_rows for v in vectors]) if vectors else numpy.zeros(0, dtype=int)
    values = numpy.concatenate([v.known_values for v in vectors]) if vectors else numpy.zeros(0)
    return csr_matrix((values, rows, starts), shape=(len(examples), len(model.table)))


def network_inputs(matrix: Any, inputs: Any) -> Any:
    """``matrix`` (from :func:`_mail_matrix`) restricted to the network's ``inputs``,
    each row scaled to length 1 over them (as ``SecondOpinion.inputs_of``)."""
    from sklearn.preprocessing import normalize

    return normalize(matrix[:, inputs])


def _fit_network(
    model: CategoryModel,
    examples: Sequence[Example],
    generic: Sequence[tuple[str, ...]],
    recipe: Recipe,
    blend: float,
) -> SecondOpinion:
    """The second opinion for ``model``, fitted on ``examples``, with blend temperature
    ``blend``: ``recipe.networks`` networks kept as one (``SecondOpinion.averaged``)."""
    networks, inputs = fit_network_classifiers(model, examples, generic, recipe)
    if any(tuple(str(c) for c in network.classes_) != model.classes for network in networks):
        raise ValueError("the network's classes differ from the linear model's")  # same labels: a bug
    layers = [(w1, b1, w2, b2) for (w1, w2), (b1, b2) in ((n.coefs_, n.intercepts_) for n in networks)]
    return SecondOpinion.averaged(inputs, layers, blend).bind(len(model.table))


def fit_network_classifiers(
    model: CategoryModel, examples: Sequence[Example], generic: Sequence[tuple[str, ...]], recipe: Recipe
) -> tuple[list[Any], Any]:
    """scikit-learn's fitted ``MLPClassifier``s over the mail vectors of ``model``
    (``recipe.networks`` of them, from random starts 0, 1, ...), and the table rows they
    read (those seen in ``recipe.network_min_df`` training mails)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    numpy = _sklearn()[0]
    matrix = _mail_matrix(model, examples, generic)
    inputs = numpy.flatnonzero(numpy.asarray((matrix > 0).sum(axis=0)).ravel() >= recipe.network_min_df)
    vectors, labels = network_inputs(matrix, inputs), [recipe.label_of(e) for e in examples]
    networks = []
    for start in range(recipe.networks):
        network = MLPClassifier(
            hidden_layer_sizes=(recipe.hidden,),
            alpha=1e-4,
            max_iter=recipe.network_passes,
            batch_size=256,
            random_state=start,
        )
        with warnings.catch_warnings():  # a fixed number of passes is the budget, not a failure
            warnings.simplefilter("ignore", ConvergenceWarning)
            networks.append(network.fit(vectors, labels))
    return networks, inputs


def fit_blend_temperature(
    folds: Sequence[tuple[CategoryModel, Sequence[Example]]], generic: Sequence[tuple[str, ...]]
) -> float:
    """The temperature of the linear model's and the network's summed category
    log-probabilities that makes them calibrated out of fold (as :func:`fit_temperature`,
    without the curated terms' prior, which ops may weigh otherwise)."""
    numpy = _sklearn()[0]
    sums, gold = [], []
    for model, held in folds:
        for e in held:
            verdict = mail_verdict(model, e.subject, e.text, generic)
            logits = blended_logits(model, verdict, category_logits(model, verdict))
            sums.append([logits[c] for c in model.head.categories])
            gold.append(model.head.categories.index(e.category))
    scores, right = numpy.array(sums), numpy.array(gold)

    def loss(t: float) -> float:
        # -log softmax(scores / t)[gold], summed; shifted by each row's top (a sum can
        # be -55, two floors of log(1e-12): e^(55 / 0.02) overflows).
        scaled = scores / t
        top = scaled.max(axis=1)
        log_total = numpy.log(numpy.exp(scaled - top[:, None]).sum(axis=1)) + top
        return float((log_total - scaled[numpy.arange(len(right)), right]).sum())

    return _search(loss)


def _search(loss: Callable[[float], float]) -> float:
    """The value on a log grid of 0.02 .. 13 with least ``loss``, refined in 3 % steps."""
    grid = [0.02 * 1.25**k for k in range(30)]
    best = min(grid, key=loss)
    fine = [best * 1.03**k for k in range(-8, 9)]
    return round(min(fine, key=loss), 4)


def _nll(model: CategoryModel, scored: Sequence[tuple[Any, str]], temperature: float) -> float:
    tempered = replace(model, temperature=temperature)
    return -sum(category_logits(tempered, verdict)[category] for verdict, category in scored)


def fit_temperature(
    folds: Sequence[tuple[CategoryModel, Sequence[Example]]], generic: Sequence[tuple[str, ...]]
) -> float:
    """The softmax temperature that makes out-of-fold category probabilities calibrated
    (least negative log-likelihood; a coarse-to-fine search over a log grid)."""
    scored = [
        (model, [(mail_verdict(model, e.subject, e.text, generic), e.category) for e in held])
        for model, held in folds
    ]

    def loss(t: float) -> float:
        return sum(_nll(model, rows, t) for model, rows in scored)

    return _search(loss)


def stratified_folds(labels: Sequence[str], folds: int, seed: int = 77) -> list[int]:
    """A fold number per example, each label spread evenly over the folds (deterministic)."""
    import random

    order = list(range(len(labels)))
    random.Random(seed).shuffle(order)
    seen: dict[str, int] = {}
    fold_of = [0] * len(labels)
    for index in order:
        fold_of[index] = seen.get(labels[index], 0) % folds
        seen[labels[index]] = seen.get(labels[index], 0) + 1
    return fold_of


def fit_model(
    examples: Sequence[Example],
    generic: Sequence[tuple[str, ...]],
    recipe: Recipe | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> CategoryModel:
    """Fit on ``examples``; the temperatures from ``recipe.temperature_folds`` inner folds."""
    recipe = recipe or Recipe()
    fold_of = stratified_folds([e.label for e in examples], recipe.temperature_folds)
    folds = []
    for fold in range(recipe.temperature_folds):
        progress(f"temperature fold {fold + 1}/{recipe.temperature_folds}")
        inner = [e for e, f in zip(examples, fold_of, strict=True) if f != fold]
        held = [e for e, f in zip(examples, fold_of, strict=True) if f == fold]
        folds.append((_fit_weights(inner, generic, recipe), inner, held))
    temperature = fit_temperature([(model, held) for model, _, held in folds], generic)
    fitted = fold_models(folds, temperature, generic, recipe, progress)
    blend = fitted[0].network.blend_temperature if fitted[0].network else 1.0
    progress("final fit")
    model = replace(_fit_weights(examples, generic, recipe), temperature=temperature)
    return replace(
        with_second_opinion(model, examples, generic, recipe, blend),
        training={
            "c": recipe.c,
            "min_df": recipe.min_df,
            "prune": recipe.prune,
            "min_contribution": recipe.min_contribution,
            "mail_weight": recipe.mail_weight,
            "level": recipe.level,
            "penalty": recipe.penalty,
            "classifier": recipe.classifier,
            "hidden": recipe.hidden,
            "networks": recipe.networks,
            "network_passes": recipe.network_passes,
            "network_min_df": recipe.network_min_df,
            "examples": len(examples),
        },
    )


def fold_models(
    folds: Sequence[tuple[CategoryModel, Sequence[Example], Sequence[Example]]],
    temperature: float,
    generic: Sequence[tuple[str, ...]],
    recipe: Recipe,
    progress: Callable[[str], None] = lambda _: None,
) -> list[CategoryModel]:
    """Each fold's linear model (``(model, its training mails, the held mails)``) at
    ``temperature`` with its network, the blend temperature fitted on the held mails
    of every fold (as the linear temperature is): what CV measures and what
    :func:`fit_model` takes the blend temperature from."""
    tempered = [replace(model, temperature=temperature) for model, _, _ in folds]
    if not recipe.hidden:
        return tempered
    paired = []
    for number, (model, (_, inner, _)) in enumerate(zip(tempered, folds, strict=True), 1):
        progress(f"second opinion, fold {number}/{len(folds)}")
        paired.append(with_second_opinion(model, inner, generic, recipe, 1.0))
    blend = fit_blend_temperature(
        [(model, held) for model, (_, _, held) in zip(paired, folds, strict=True)], generic
    )
    return [replace(model, network=model.network.rescaled(blend)) for model in paired if model.network]


def with_second_opinion(
    model: CategoryModel,
    examples: Sequence[Example],
    generic: Sequence[tuple[str, ...]],
    recipe: Recipe,
    blend: float,
) -> CategoryModel:
    """``model`` with a network fitted on ``examples`` (none when ``recipe.hidden`` is 0)."""
    if not recipe.hidden:
        return model
    return replace(model, network=_fit_network(model, examples, generic, recipe, blend))


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by size."""
    total = len(confidences)
    error = 0.0
    for b in range(bins):
        members = [
            i for i, c in enumerate(confidences) if b / bins < c <= (b + 1) / bins or (b == 0 and c == 0)
        ]
        if members:
            accuracy = sum(correct[i] for i in members) / len(members)
            confidence = sum(confidences[i] for i in members) / len(members)
            error += len(members) / total * abs(accuracy - confidence)
    return round(error, 4) if total else math.nan
