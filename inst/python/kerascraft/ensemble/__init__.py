"""Ensembles: combine the predictions of different models with weights learned on validation
data, and check on held-out data that the combination pays.

Everything here works on predictions, so any model that predicts can take part: Keras
networks, scikit-learn estimators (gradient-boosted trees, forests, linear models), R
functions. The weights are non-negative and sum to one; they are fitted on the validation
(or out-of-fold) predictions by one of four methods, or replaced by a meta-learner
(``"stack"``):

``"mean"``
    equal weights.
``"greedy"`` (default)
    Caruana et al. (2004) ensemble selection: start from the mean of the best few models
    (how many: up to ``init_size``, chosen on the validation score), then add, with
    replacement, whichever model improves the validation score most; keep the ensemble of the
    best iteration. Weights are the counts.
``"nelder_mead"``
    SciPy's Nelder-Mead on ``w = |z| / sum(|z|)`` (non-negative, summing to one, zero
    reachable), started from equal weights.
``"random"``
    the best of many weight vectors drawn from the simplex (plus equal weights and
    every single model), drawn from Dirichlet distributions of several concentrations.
``"stack"``
    a regularised linear meta-learner (:mod:`kerascraft.ensemble.stacking`): for classes a
    weighted geometric mean with per-class intercepts (a multinomial logistic model on the
    members' log probabilities), for regression a non-negative linear combination with an
    intercept; it recalibrates, which a weighted mean cannot. Its regularisation, which
    pulls it towards the greedy ensemble's weights or towards equal weights, and that centre
    are chosen by inner cross-validation. For classes a tenth of its probabilities is the
    greedy ensemble's (``stacking.DEFENCE``): no sample costs more than log(10) nats above
    the greedy ensemble's loss on it.

Out-of-fold predictions come from :func:`cross_fit` (``crossfit``): each member trained k
times, each time without one fold of all the labelled data, which it then predicts; at
prediction time a scikit-learn estimator is refitted on all the rows, a fit function is the
mean of its k fold models.

Weights fitted on the validation set flatter it. ``cv=k`` fits them on k-1 folds of the
validation predictions at a time, scores each held-out fold, and reports that
cross-fitted score next to the in-sample one; the final weights are then the mean of the
fold weights. The model table says, for each used model, how much it adds, on how many
validation samples that gain rests (``support``), and what its weight becomes without the
samples where it helps most; a weight that hangs on a handful of samples is ``fragile``.

The package, one module per concern: ``metrics`` (metric directions, values, per-sample
losses), ``checks`` (predictions and labels to arrays), ``scoring`` (the weighted
combination and its score), ``methods`` (the weight-fitting methods, one registry),
``stacking`` (the meta-learner), ``fitted`` (:class:`Ensemble`, :func:`fit_ensemble`,
JSON), ``analysis`` (what each member brings: gain, support, fragility), ``diversity``,
``members`` (predictions of Keras/scikit-learn models and functions, gradient-boosted
trees), ``crossfit`` (out-of-fold predictions, refitted or bagged members) and ``plots``. All but
``members``, ``crossfit`` and ``plots`` use NumPy and SciPy only; ``members`` imports Keras
or scikit-learn only when given such a model, ``plots`` imports matplotlib.
"""

from kerascraft.ensemble.checks import are_probabilities
from kerascraft.ensemble.crossfit import CrossFitted, cross_fit
from kerascraft.ensemble.diversity import diversity
from kerascraft.ensemble.fitted import Ensemble, fit_ensemble, load_ensemble
from kerascraft.ensemble.members import cheap_models, fit_gradient_boosting, predictions
from kerascraft.ensemble.methods import METHODS
from kerascraft.ensemble.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS
from kerascraft.ensemble.plots import diversity_plot_data, plot_diversity, plot_ensemble
from kerascraft.ensemble.scoring import public_prediction

__all__ = ["CLASSIFICATION_METRICS", "METHODS", "REGRESSION_METRICS", "CrossFitted", "Ensemble",
           "cross_fit", "diversity",
           "diversity_plot_data", "fit_ensemble", "fit_gradient_boosting", "load_ensemble",
           "cheap_models",
           "plot_diversity",
           "plot_ensemble", "predictions", "public_prediction", "are_probabilities"]
