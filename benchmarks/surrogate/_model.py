"""Fit a surrogate of a task's metric from recorded trials.

The surface is a separable quadratic bowl (the fallback prior: smooth, and
worse the further a configuration strays from where the data put the optimum)
plus a Gaussian-process correction with one length scale per parameter,
fitted by maximising the marginal likelihood. The GP noise is the measured
trial-to-trial noise, so the surface does not chase noise. Away from the data
the correction fades and the bowl remains. Crashed trials are kept as crash
regions (see ``_predict.crash_reason``).

The surface has a floor (a ceiling when maximising, ``_predict.bounded``): at
most ``floor_margin`` better than the best trial measured, by default the
larger of 3 noise standard deviations and 5% of the measured spread. No
configuration in the box is predicted past it, whatever the bowl says there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import linalg, optimize
from threadpoolctl import threadpool_limits

from interfaces import ConfigError, ParamKind, SearchSpace, Trial, TrialStatus, thaw

from . import _predict

__all__ = ["SurrogateModel", "fit_surrogate", "FORMAT"]

FORMAT = "surrogate-v2"
_JITTER = 1e-9
_LENGTH_BOUNDS = (0.05, 20.0)
_SIGNAL_BOUNDS = (1e-6, 50.0)  # in units of the residual variance


def _features(space: SearchSpace) -> list[dict[str, Any]]:
    features = []
    for spec in space:
        if spec.locked:
            continue
        feature: dict[str, Any] = {"name": spec.name, "kind": spec.kind.value, "default": thaw(spec.default)}
        if spec.kind in (ParamKind.FLOAT, ParamKind.INT):
            feature.update(low=spec.low, high=spec.high, log=spec.log)
        elif spec.kind is ParamKind.CHOICE:
            feature["choices"] = [thaw(c) for c in spec.choices]
        features.append(feature)
    return features


@dataclass(frozen=True)
class SurrogateModel:
    """A fitted surface, in plain JSON data (``data``) plus its search space.

    ``data`` is exactly what a trial's ``model.json`` holds; :meth:`predict`
    and the trial script evaluate it with the same code.
    """

    data: Mapping[str, Any]
    space: SearchSpace

    @property
    def metric(self) -> str:
        return str(self.data["metric"])

    @property
    def minimize(self) -> bool:
        return bool(self.data["minimize"])

    @property
    def noise(self) -> float:
        return float(self.data["noise"])

    @property
    def floor(self) -> float:
        """The value no prediction passes (a ceiling when maximising)."""
        return float(self.data["floor"]["value"])

    def predict(self, config: Mapping[str, Any]) -> float:
        """The noise-free metric the surface gives this configuration."""
        return _predict.predict(self.data, thaw(dict(config)))

    def crash_reason(self, config: Mapping[str, Any]) -> str | None:
        return _predict.crash_reason(self.data, thaw(dict(config)))

    def observe(self, config: Mapping[str, Any], noise_seed: int) -> float:
        """What a trial of this configuration prints under ``noise_seed``."""
        return _predict.observe(self.data, thaw(dict(config)), noise_seed)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data, space=self.space.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SurrogateModel:
        if data.get("format") != FORMAT:
            hint = (" (a surrogate-v1 model has no floor and predicts values no run reaches; refit it: "
                    "python -m benchmarks.gpt_fit)") if data.get("format") == "surrogate-v1" else ""
            raise ConfigError(f"not a {FORMAT} surrogate model (format={data.get('format')!r}){hint}",
                              code="bad-surrogate-model")
        body = {k: v for k, v in data.items() if k != "space"}
        return cls(body, SearchSpace.from_dict(data["space"]))

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path: Path) -> SurrogateModel:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read surrogate model {path}: {exc}", code="bad-surrogate-model") from exc
        return cls.from_dict(data)


def _fit_bowl(x: np.ndarray, y: np.ndarray, minimize: bool, ridge: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Least squares on [1, x, x^2] with a ridge penalty; curvature kept convex
    towards worse (upwards when minimising) so extrapolation is pessimistic."""
    n, d = x.shape
    design = np.hstack([np.ones((n, 1)), x, x * x])
    penalty = math.sqrt(ridge) * np.eye(2 * d + 1)[1:]  # the intercept is not penalised
    a = np.vstack([design, penalty])
    b = np.concatenate([y, np.zeros(2 * d)])
    low = np.full(2 * d + 1, -np.inf)
    high = np.full(2 * d + 1, np.inf)
    if minimize:
        low[1 + d:] = 0.0
    else:
        high[1 + d:] = 0.0
    solution = optimize.lsq_linear(a, b, bounds=(low, high)).x
    return float(solution[0]), solution[1:1 + d], solution[1 + d:]


def _kernel(a: np.ndarray, b: np.ndarray, scales: np.ndarray) -> np.ndarray:
    diff = (a[:, None, :] - b[None, :, :]) / scales
    return np.exp(-0.5 * np.sum(diff * diff, axis=-1))


def _neg_log_likelihood(theta: np.ndarray, squares: np.ndarray, r: np.ndarray,
                        noise_var: float) -> tuple[float, np.ndarray]:
    """The negative log marginal likelihood and its gradient in log parameters.

    ``squares[i, j, k]`` is the squared distance of points i and j along k.
    """
    scales, signal = np.exp(theta[:-1]), math.exp(theta[-1])
    base = np.exp(-0.5 * np.sum(squares / (scales * scales), axis=-1))
    k = signal * base + (noise_var + _JITTER) * np.eye(len(r))
    try:
        factor = linalg.cho_factor(k, lower=True)
    except linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = linalg.cho_solve(factor, r)
    value = float(0.5 * r @ alpha + np.sum(np.log(np.diag(factor[0]))))
    inner = np.outer(alpha, alpha) - linalg.cho_solve(factor, np.eye(len(r)))
    weighted = inner * signal * base
    gradient = np.empty_like(theta)
    gradient[:-1] = -0.5 * np.einsum("ij,ijk->k", weighted, squares) / (scales * scales)
    gradient[-1] = -0.5 * np.sum(weighted)
    return value, gradient


def _fit_gp(x: np.ndarray, r: np.ndarray, noise: float, seed: int) -> tuple[np.ndarray, float, np.ndarray]:
    scale = float(np.std(r)) or 1.0
    rs = r / scale
    noise_var = (noise / scale) ** 2
    d = x.shape[1]
    squares = (x[:, None, :] - x[None, :, :]) ** 2
    bounds = [tuple(np.log(_LENGTH_BOUNDS))] * d + [tuple(np.log(_SIGNAL_BOUNDS))]
    rng = np.random.default_rng(seed)
    starts = [np.zeros(d + 1)] + [
        np.concatenate([rng.uniform(np.log(0.1), np.log(2.0), d), [rng.uniform(-2, 1)]]) for _ in range(2)
    ]
    # The matrices are small: BLAS threads only contend with each other (8x slower on 2 cores).
    with threadpool_limits(1):
        best = min(
            (optimize.minimize(_neg_log_likelihood, s, args=(squares, rs, noise_var), jac=True, method="L-BFGS-B",
                               bounds=bounds) for s in starts),
            key=lambda result: result.fun,
        )
    scales, signal = np.exp(best.x[:-1]), math.exp(best.x[-1]) * scale * scale
    k = signal * _kernel(x, x, scales) + (noise * noise + _JITTER * scale * scale) * np.eye(len(x))
    alpha = linalg.cho_solve(linalg.cho_factor(k, lower=True), r)
    return scales, signal, alpha


def fit_surrogate(
    trials: Sequence[Trial],
    space: SearchSpace,
    noise: float,
    *,
    metric: str = "val_bpb",
    minimize: bool = True,
    crash_radius: float = 0.25,
    ridge: float = 1e-3,
    seed: int = 0,
    source: str = "",
    floor_margin: float | None = None,
) -> SurrogateModel:
    """Fit a surface to the trials that ran (OK ones fit the metric; crashed
    ones mark crash regions). ``noise`` is the measured standard deviation of
    the metric across repeats of one configuration, and becomes both the GP
    noise and the noise a surrogate trial adds. ``floor_margin``: how much
    better than the best measured trial the surface may go (see the module's
    description for the default)."""
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise ConfigError(f"noise must be a finite number >= 0, got {noise!r}", code="bad-noise")
    data: dict[str, Any] = {"format": FORMAT, "metric": metric, "minimize": minimize, "noise": float(noise),
                            "features": _features(space)}
    if not data["features"]:
        raise ConfigError("the search space has no unlocked parameter to model", code="empty-space")
    ok = [t for t in trials if t.ok]
    if len(ok) < 2:
        raise ConfigError(f"fitting needs at least 2 trials that ran OK; got {len(ok)}", code="too-few-trials")
    crashed = [t for t in trials if t.status not in (TrialStatus.OK, TrialStatus.REJECTED)]
    encode = lambda t: _predict.encode(data, thaw(dict(t.config)))  # noqa: E731
    x = np.array([encode(t) for t in ok], dtype=float)
    y = np.array([t.metric for t in ok], dtype=float)
    intercept, linear, quadratic = _fit_bowl(x, y, minimize, ridge)
    data["mean"] = {"intercept": intercept, "linear": linear.tolist(), "quadratic": quadratic.tolist()}
    residual = y - (intercept + x @ linear + (x * x) @ quadratic)
    scales, signal, alpha = _fit_gp(x, residual, max(float(noise), 1e-6 * (float(np.std(y)) or 1.0)), seed)
    data["gp"] = {"length_scales": scales.tolist(), "signal_var": signal, "points": x.tolist(),
                  "alpha": alpha.tolist()}
    data["crash"] = {"radius": float(crash_radius), "points": [encode(t) for t in crashed],
                     "reasons": sorted({t.status.value for t in crashed})}
    spread = float(np.max(y) - np.min(y))
    margin = max(3.0 * float(noise), 0.05 * spread) if floor_margin is None else float(floor_margin)
    if not (math.isfinite(margin) and margin > 0):
        raise ConfigError(f"floor_margin must be a positive number, got {floor_margin!r}", code="bad-floor")
    best = float(np.min(y)) if minimize else float(np.max(y))
    data["floor"] = {"value": best - margin if minimize else best + margin, "softness": margin / 4,
                     "margin": margin, "best_measured": best}
    data["fit"] = {"ok_trials": len(ok), "crashed_trials": len(crashed), "source": source}
    return SurrogateModel(data, space)
