"""Classify handwritten digits with a small MLP: a template for `engine.run script`.

Everything the search may change is the block of UPPERCASE literals below.
The script ends by printing greppable `key: value` lines; the engine reads
the one named by --metric (here val_loss, lower is better), and the one named
by --throughput-metric (samples_per_second) to tell a trial slowed by a busy
machine.

    python examples/digits/train.py
    python -m engine.run script examples/digits/train.py --metric val_loss --throughput-metric samples_per_second
"""

import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

# ---- hyperparameters ---------------------------------------------------------
HIDDEN_SIZE = 32          # units per hidden layer
NUM_LAYERS = 1            # hidden layers
LEARNING_RATE = 1e-3      # Adam's initial step size
ALPHA = 1e-4              # L2 penalty
BATCH_SIZE = 64
MAX_EPOCHS = 30
ACTIVATION = "relu"       # relu, tanh or logistic
EARLY_STOPPING = False
SEED = 0
# ------------------------------------------------------------------------------

t0 = time.time()
X, y = load_digits(return_X_y=True)
# The split is fixed (not SEED) so that every trial is scored on the same data.
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=1234, stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)

model = MLPClassifier(
    hidden_layer_sizes=(HIDDEN_SIZE,) * NUM_LAYERS,
    activation=ACTIVATION,
    learning_rate_init=LEARNING_RATE,
    alpha=ALPHA,
    batch_size=BATCH_SIZE,
    max_iter=MAX_EPOCHS,
    early_stopping=EARLY_STOPPING,
    random_state=SEED,
)
fit_started = time.time()
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a short budget is the point
    model.fit(X_train, y_train)
fit_seconds = time.time() - fit_started
train_seconds = time.time() - t0
# Training examples processed per second of fitting (epochs run x examples): how fast this machine ran.
samples_per_second = len(X_train) * model.n_iter_ / max(fit_seconds, 1e-9)

proba = model.predict_proba(X_val)
val_loss = log_loss(y_val, proba, labels=model.classes_)
val_error = float(np.mean(model.predict(X_val) != y_val))
num_params = sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_)

print(f"val_loss: {val_loss:.6f}")
print(f"val_error: {val_error:.6f}")
print(f"training_seconds: {train_seconds:.3f}")
print(f"samples_per_second: {samples_per_second:.1f}")
print(f"num_params: {num_params}")
