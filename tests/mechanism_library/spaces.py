"""Small hand-made search spaces shared by the behaviour tests."""

from __future__ import annotations

from interfaces import ParamSpec, SearchConfig, SearchSpace

MIXED = SearchSpace((
    ParamSpec("LR", "float", 1e-3, low=1e-4, high=1e-1, log=True),
    ParamSpec("WD", "float", 0.1, low=0.0, high=0.5),
    ParamSpec("DEPTH", "int", 6, low=2, high=12),
    ParamSpec("OPT", "choice", "adam", choices=("adam", "sgd", "lion")),
    ParamSpec("FLAG", "bool", False),
    ParamSpec("SEQ", "int", 256, low=256, high=256, locked=True),
))
MIXED_ALL = SearchConfig(active=("LR", "WD", "DEPTH", "OPT", "FLAG"), max_changes=2)

PLANE = SearchSpace((
    ParamSpec("X", "float", 0.2, low=0.0, high=1.0),
    ParamSpec("Y", "float", 0.8, low=0.0, high=1.0),
))
PLANE_ALL = SearchConfig(active=("X", "Y"), max_changes=2, min_active=1)
