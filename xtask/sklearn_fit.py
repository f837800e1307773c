"""Fit time of scikit-learn's Ridge and ElasticNet on the matrix that
`fit-timing` wrote (same penalties), for `cargo xtask bench`.

usage: sklearn_fit.py DIR N M LAMBDA ALPHA
"""
import sys
import time

import numpy as np
from sklearn.linear_model import ElasticNet, Ridge

d, n, m, lam, alpha = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
x = np.fromfile(f"{d}/fit_x.i8", dtype=np.uint8).reshape(n, m).astype(np.float64)
y = np.fromfile(f"{d}/fit_y.f64", dtype="<f8")
t = time.perf_counter()
ridge = Ridge(alpha=lam).fit(x, y)
print(f"ridge_seconds {time.perf_counter() - t:.3f}")
print(f"ridge_weight_norm {np.linalg.norm(ridge.coef_):.6e}")
t = time.perf_counter()
enet = ElasticNet(alpha=alpha, l1_ratio=0.5, tol=1e-4, max_iter=1000).fit(x, y)
print(f"elastic_net_seconds {time.perf_counter() - t:.3f}")
print(f"elastic_net_nonzero {int(np.count_nonzero(enet.coef_))}")
print(f"elastic_net_sweeps {enet.n_iter_}")
