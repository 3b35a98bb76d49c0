"""Predict diabetes progression with gradient-boosted trees: a second template for `engine.run script`.

A different kind of search from examples/digits: trees rather than a network,
regression rather than classification, and hyperparameters whose good values
trade off against each other (a lower learning rate wants more rounds). The
UPPERCASE literals below are the search space; the score is the root mean
squared error of 5-fold cross-validation on scikit-learn's bundled diabetes
data (442 patients), so nothing is downloaded.

    python examples/boosting/train.py
    python -m engine.run script examples/boosting/train.py --metric val_rmse --throughput-metric samples_per_second
"""

import time

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold

# ---- hyperparameters ---------------------------------------------------------
LEARNING_RATE = 0.1       # shrinkage of each tree's contribution
MAX_ITER = 100            # boosting rounds
MAX_LEAF_NODES = 31       # leaves per tree
MAX_DEPTH = 6             # depth limit per tree
MIN_SAMPLES_LEAF = 20     # the smallest leaf
L2_REGULARIZATION = 0.0   # penalty on leaf values
MAX_FEATURES = 0.8        # share of features each split may consider (drawn with SEED)
SEED = 0
# ------------------------------------------------------------------------------

t0 = time.time()
X, y = load_diabetes(return_X_y=True)
# The folds are fixed (not SEED) so that every trial is scored on the same splits.
folds = KFold(n_splits=5, shuffle=True, random_state=1234)

squared_errors = []
fit_seconds = 0.0
rounds = 0
for train_index, val_index in folds.split(X):
    model = HistGradientBoostingRegressor(
        learning_rate=LEARNING_RATE,
        max_iter=MAX_ITER,
        max_leaf_nodes=MAX_LEAF_NODES,
        max_depth=MAX_DEPTH,
        min_samples_leaf=MIN_SAMPLES_LEAF,
        l2_regularization=L2_REGULARIZATION,
        max_features=MAX_FEATURES,
        early_stopping=False,
        random_state=SEED,
    )
    started = time.time()
    model.fit(X[train_index], y[train_index])
    fit_seconds += time.time() - started
    rounds += model.n_iter_ * len(train_index)
    squared_errors.append((model.predict(X[val_index]) - y[val_index]) ** 2)

val_rmse = float(np.sqrt(np.mean(np.concatenate(squared_errors))))
# Training examples processed per second of fitting (rounds x examples): how fast this machine ran.
samples_per_second = rounds / max(fit_seconds, 1e-9)

print(f"val_rmse: {val_rmse:.4f}")
print(f"training_seconds: {time.time() - t0:.3f}")
print(f"samples_per_second: {samples_per_second:.1f}")
