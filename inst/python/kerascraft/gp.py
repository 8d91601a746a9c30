"""A Gaussian-process sampler on NumPy and SciPy: Bayesian optimisation in the default
install, where Optuna's ``GPSampler`` (PyTorch) cannot run.

The model follows Optuna's and BoTorch's defaults for mixed spaces:

- **Inputs** scaled to [0, 1] (on the log scale where the distribution is), integers
  spread over [low - step/2, high + step/2] so that each value has the same width, and
  categories compared by whether they differ (a Hamming distance).
- **Kernel** Matern 5/2 with one length scale per hyperparameter (ARD), a signal variance
  and a noise variance, fitted by maximising the marginal likelihood with weak priors
  (length scales near the width of the space, little noise) by L-BFGS-B with the exact
  gradient, warm-started from the last fit.
- **Outputs** warped to normal scores of their ranks (:data:`WARPS`): a search's losses
  are heavy-tailed (a diverged trial is orders of magnitude worse) and a Gaussian process
  fitted on the raw values spends itself on the outliers.
- **Acquisition** log expected improvement over the best observed value, maximised over
  Sobol points and rounds of local perturbations of the best ones, each snapped to a
  value the space has.

Hyperparameters outside the space all trials share (conditional ones) are drawn at random.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
from scipy import optimize, special, stats

#: how the objective's values are transformed before the GP sees them (``"rank"``: normal
#: scores of the ranks; ``"standardize"``: Optuna's GPSampler's choice)
WARPS = ("rank", "standardize")

_MIN_NOISE = 1e-6
_SQRT5 = math.sqrt(5.0)


class _Encoding:
    """The relative search space as columns in [0, 1] (categorical: the index)."""

    def __init__(self, search_space):
        self.names = list(search_space)
        self.dists = [search_space[n] for n in self.names]
        self.is_cat = np.array([isinstance(d, optuna.distributions.CategoricalDistribution)
                                for d in self.dists])
        self.n_choices = np.array([len(d.choices) if c else 0
                                   for d, c in zip(self.dists, self.is_cat)])

    def _bounds(self, d):
        half = 0.0
        if isinstance(d, optuna.distributions.IntDistribution):
            half = 0.5 * (d.step or 1)
        elif d.step is not None:
            half = 0.5 * d.step
        low, high = d.low - half, d.high + half
        if d.log:
            low, high = math.log(low), math.log(high)
        return low, high

    def encode(self, params_list) -> np.ndarray:
        X = np.empty((len(params_list), len(self.names)))
        for j, (name, d) in enumerate(zip(self.names, self.dists)):
            for i, params in enumerate(params_list):
                v = params[name]
                if self.is_cat[j]:
                    X[i, j] = d.choices.index(v)
                    continue
                low, high = self._bounds(d)
                v = math.log(v) if d.log else float(v)
                X[i, j] = (v - low) / (high - low) if high > low else 0.5
        return X

    def decode(self, x) -> dict:
        params = {}
        for j, (name, d) in enumerate(zip(self.names, self.dists)):
            if self.is_cat[j]:
                params[name] = d.choices[int(x[j])]
                continue
            low, high = self._bounds(d)
            v = low + float(np.clip(x[j], 0.0, 1.0)) * (high - low)
            v = math.exp(v) if d.log else v
            if isinstance(d, optuna.distributions.IntDistribution) or d.step is not None:
                step = d.step or 1
                v = d.low + round((v - d.low) / step) * step
            v = min(max(v, d.low), d.high)
            params[name] = int(v) if isinstance(d, optuna.distributions.IntDistribution) \
                else float(v)
        return params

    def snap(self, X) -> np.ndarray:
        """Each row moved to the nearest point the space has."""
        if not any(isinstance(d, optuna.distributions.IntDistribution) or
                   getattr(d, "step", None) is not None for d in self.dists):
            return X
        return self.encode([self.decode(x) for x in X])

    def random(self, n, rng) -> np.ndarray:
        try:  # SciPy 1.15 named it rng; seed, which older ones take, is on its way out
            sobol = stats.qmc.Sobol(len(self.names), rng=rng)
        except TypeError:
            sobol = stats.qmc.Sobol(len(self.names), seed=rng)
        X = sobol.random(n)
        cat = self.is_cat
        X[:, cat] = np.floor(X[:, cat] * self.n_choices[cat])
        return self.snap(X)


def _warp(y, how):
    """``y`` (larger is better) as the GP's targets."""
    if how == "rank":
        ranks = stats.rankdata(y)
        return stats.norm.ppf((ranks - 0.5) / len(y))
    sd = y.std()
    return (y - y.mean()) / (sd if sd > 0 else 1.0)


class _GP:
    """A Matern 5/2 ARD Gaussian process over :class:`_Encoding` columns."""

    def __init__(self, is_cat):
        self.is_cat = is_cat

    def _d2(self, A, B):
        diff = A[:, None, :] - B[None, :, :]
        return np.where(self.is_cat, (diff != 0).astype(float), diff * diff)

    @staticmethod
    def _matern(r2, s2):
        r = np.sqrt(np.maximum(r2, 0.0))
        e = np.exp(-_SQRT5 * r)
        return s2 * (1.0 + _SQRT5 * r + 5.0 / 3.0 * r2) * e, -s2 * 5.0 / 6.0 * (1.0 + _SQRT5 * r) * e

    def _unpack(self, theta):
        d = len(self.is_cat)
        return np.exp(theta[:d]), math.exp(theta[d]), math.exp(theta[d + 1]) + _MIN_NOISE

    def _loss(self, theta, D2, y):
        """Negative log posterior of the kernel's parameters and its gradient."""
        lam, s2, noise = self._unpack(theta)
        n = len(y)
        K, G = self._matern(D2 @ lam, s2)
        try:
            L = np.linalg.cholesky(K + noise * np.eye(n))
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = _solve(L, y)
        Kinv = _solve(L, np.eye(n))
        W = Kinv - np.outer(alpha, alpha)
        nll = 0.5 * y @ alpha + np.log(np.diag(L)).sum() + 0.5 * n * math.log(2 * math.pi)
        grad = np.empty_like(theta)
        grad[:-2] = 0.5 * lam * np.einsum("ij,ijk->k", W * G, D2)
        grad[-2] = 0.5 * np.sum(W * K)
        grad[-1] = 0.5 * np.trace(W) * (noise - _MIN_NOISE)
        # priors: inverse squared length scales near 1 (the width of the space), signal
        # variance Gamma(2, 1), noise Gamma(1.1, 30)
        nll += np.sum(0.1 / lam + 0.1 * lam) + (s2 - math.log(s2)) \
            + (30.0 * noise - 0.1 * math.log(noise))
        grad[:-2] += -0.1 / lam + 0.1 * lam
        grad[-2] += s2 - 1.0
        grad[-1] += (30.0 - 0.1 / noise) * (noise - _MIN_NOISE)
        return nll, grad

    def fit(self, X, y, start=None):
        d = len(self.is_cat)
        D2 = self._d2(X, X)
        bounds = [(math.log(1e-3), math.log(1e3))] * d + [(math.log(1e-2), math.log(1e2)),
                                                          (math.log(1e-9), 0.0)]
        default = np.r_[np.zeros(d), 0.0, math.log(1e-2)]
        best = None
        for theta0 in ([default] if start is None or len(start) != d + 2 else [start, default]):
            res = optimize.minimize(self._loss, theta0, args=(D2, y), jac=True,
                                    method="L-BFGS-B", bounds=bounds)
            if best is None or res.fun < best.fun:
                best = res
        self.theta = best.x
        self.lam, self.s2, self.noise = self._unpack(self.theta)
        self.X = X
        K, _ = self._matern(D2 @ self.lam, self.s2)
        self.L = np.linalg.cholesky(K + self.noise * np.eye(len(y)))
        self.alpha = _solve(self.L, y)
        return self

    def predict(self, Xs):
        """Posterior mean and standard deviation of the latent function at ``Xs``."""
        Ks, _ = self._matern(self._d2(Xs, self.X) @ self.lam, self.s2)
        mean = Ks @ self.alpha
        v = np.linalg.solve(self.L, Ks.T)  # triangular; n is small
        var = np.maximum(self.s2 - np.sum(v * v, axis=0), 1e-12)
        return mean, np.sqrt(var)


def _solve(L, b):
    from scipy.linalg import solve_triangular

    return solve_triangular(L.T, solve_triangular(L, b, lower=True), lower=False)


def log_expected_improvement(mean, sd, best):
    """log E[max(f - best, 0)] for f ~ N(mean, sd^2), stable far below ``best``."""
    z = (mean - best) / sd
    # E = sd h(z), h(z) = phi(z) + z Phi(z) = phi(z) (1 + z Phi(z)/phi(z)), and
    # Phi(z)/phi(z) = sqrt(pi/2) erfcx(-z/sqrt(2)); far below, 1 + z Phi/phi -> 1/z^2 - 3/z^4
    log_phi = -0.5 * z * z - 0.5 * math.log(2 * math.pi)
    near = np.maximum(z, -25.0)
    inner = 1 + near * math.sqrt(math.pi / 2) * special.erfcx(-near / math.sqrt(2))
    far = np.minimum(z, -25.0)
    log_h = np.where(z > -25.0, log_phi + np.log(np.maximum(inner, 1e-300)),
                     log_phi - 2 * np.log(-far) + np.log1p(-3 / far ** 2 + 15 / far ** 4))
    return log_h + np.log(sd)


class NumpyGPSampler(optuna.samplers.BaseSampler):
    """Bayesian optimisation with a Gaussian process, on NumPy and SciPy only.

    Args:
        seed: seeds the random start-up trials and the acquisition's candidates.
        n_startup_trials: random trials before the GP models the results.
        warp: how the values are transformed before the fit (:data:`WARPS`).
        n_candidates: random (Sobol) points the acquisition is evaluated at before its
            local search.
    """

    def __init__(self, *, seed=None, n_startup_trials=10, warp="rank", n_candidates=1024):
        if warp not in WARPS:
            raise ValueError(f"warp must be one of {WARPS}; got {warp!r}")
        self.n_startup_trials = int(n_startup_trials)
        self.warp = warp
        self.n_candidates = int(n_candidates)
        self._rng = np.random.default_rng(seed)
        self._random = optuna.samplers.RandomSampler(seed=seed)
        self._space = optuna.search_space.IntersectionSearchSpace()
        self._theta = None

    def reseed_rng(self):
        self._rng = np.random.default_rng()
        self._random.reseed_rng()

    def infer_relative_search_space(self, study, trial):
        return {n: d for n, d in self._space.calculate(study).items() if not d.single()}

    def sample_relative(self, study, trial, search_space):
        if not search_space:
            return {}
        done = [t for t in study.get_trials(deepcopy=False,
                                            states=(optuna.trial.TrialState.COMPLETE,))
                if all(n in t.params for n in search_space)]
        if len(done) < max(self.n_startup_trials, 2):
            return {}
        enc = _Encoding(search_space)
        X = enc.encode([t.params for t in done])
        sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
        y = _warp(sign * np.array([t.value for t in done], dtype=float), self.warp)
        gp = _GP(enc.is_cat).fit(X, y, self._theta)
        self._theta = gp.theta
        return enc.decode(self._maximise(gp, enc, X, y.max()))

    def _maximise(self, gp, enc, X, best):
        """The candidate with the largest log expected improvement: Sobol points, then
        rounds of smaller perturbations around the best few (and the best observed)."""
        def score(C):
            return log_expected_improvement(*gp.predict(C), best)

        C = enc.random(self.n_candidates, self._rng)
        top_observed = X[np.argsort(-gp.predict(X)[0])[:3]]
        C = np.vstack([C, top_observed])
        values = score(C)
        d = X.shape[1]
        for scale in (0.2, 0.1, 0.05, 0.02):
            parents = C[np.argsort(-values)[:5]]
            kids = np.repeat(parents, 64, axis=0)
            change = self._rng.random(kids.shape) < max(2.0 / d, 0.25)
            change[np.arange(len(kids)), self._rng.integers(0, d, len(kids))] = True
            noise = kids + self._rng.normal(0.0, scale, kids.shape)
            cats = np.floor(self._rng.random(kids.shape) * np.maximum(enc.n_choices, 1))
            moved = np.where(enc.is_cat, cats, np.clip(noise, 0.0, 1.0))
            kids = enc.snap(np.where(change, moved, kids))
            C, values = np.vstack([C, kids]), np.r_[values, score(kids)]
        return C[int(np.argmax(values))]

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._random.sample_independent(study, trial, param_name, param_distribution)
