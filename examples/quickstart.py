# %% [markdown]
# # Quickstart: the benchmark from Python
#
# A notebook in the percent format. Run it as a script from the repository root:
#
#     PYTHONPATH=. python examples/quickstart.py
#
# (the suite's packages are used from the checkout, never installed, so the repository root
# must be on the import path; a bare `python examples/quickstart.py` puts only `examples/`
# there and fails on `import benchmark`). To open it in Jupyter (with jupytext), start Jupyter
# from the repository root with `PYTHONPATH="$PWD"`. The tests run it exactly as above.

# %%
import os

import numpy as np

import benchmark
from methods.base import BaseMethod, ConcatFeatures
from core.params import Real

OUT = os.environ.get("QUICKSTART_OUT", "runs/quickstart")


# %% [markdown]
# A method of your own needs no registration: a `BaseMethod` subclass with scikit-learn
# conventions (hyper-parameters in `__init__`, `fit(train, val)`, `predict(data)` returning
# rows on the simplex). It is named after its class; its parameters and source are part of the
# job key, so editing it re-runs its jobs and nothing else.

# %%
class ShrunkRidge(BaseMethod):
    """Ridge regression on standardised features, clipped and renormalised onto the simplex."""

    constraints = {"alpha": Real(low=0, low_open=True)}

    def __init__(self, alpha: float = 100.0, random_state=None):
        self.alpha = alpha
        self.random_state = random_state

    def fit(self, train, val=None):
        from sklearn.linear_model import Ridge

        self.features_ = ConcatFeatures().fit(train)
        self.model_ = Ridge(alpha=self.alpha).fit(self.features_.transform(train), train.labels)
        return self

    def predict(self, data):
        p = np.clip(self.model_.predict(self.features_.transform(data)), 1e-6, None)
        return p / p.sum(axis=1, keepdims=True)


# %% [markdown]
# Run it beside two registered methods, with the options the command line takes. The default
# protocol holds whole trials out of each subject (every trial tested once, 5 folds per
# subject); `smoke` keeps it to seconds.

# %%
res = benchmark.run(methods=["prior", "aa-knn", ShrunkRidge], preset="smoke", seeds=[0, 1],
                    out=OUT, n_jobs=1)
print(res)

# %% [markdown]
# `res.frame` is `results.csv` (one row per job); `res.tables` the ranked tables; `res.stats`
# their significance tests.

# %%
table = res.tables[0]
print(table.means.loc[["kl", "chebyshev"]].round(4))
print(res.frame.groupby("label")["kl_trial"].mean().round(4))

# %% [markdown]
# A finished run loads from its directory with the same rows.

# %%
again = benchmark.load(OUT)
assert again.frame.equals(res.frame)
