"""Fits the piecewise erf table used by the encoder's GELU (Sources/CEncoderKernels/GELU.h).

erf(z) on [0, 4) is split into 16 intervals of width 1/4; on interval i, with u = 4z and
t = u - i - 0.5 in [-0.5, 0.5), erf(z) is a degree-5 polynomial in t, fitted by least squares
on Chebyshev nodes. Prints the six coefficient tables (float32) and the worst absolute error
of the float32 evaluation against math.erf. Run: python3 scripts/fit_erf_table.py
"""
from math import erf

import numpy as np

INTERVALS, DEGREE = 16, 5


def fit():
    tables = np.zeros((DEGREE + 1, INTERVALS))
    nodes = np.cos(np.pi * (np.arange(200) + 0.5) / 200) / 2  # t in (-0.5, 0.5)
    for i in range(INTERVALS):
        z = (i + 0.5 + nodes) / 4
        values = np.array([erf(v) for v in z])
        tables[:, i] = np.linalg.lstsq(np.vander(nodes, DEGREE + 1, increasing=True), values, rcond=None)[0]
    return tables.astype(np.float32)


def worst_error(tables):
    z = np.linspace(0, 3.999, 400001).astype(np.float32)
    u = (z * np.float32(4)).astype(np.float32)
    floor = np.floor(u)
    t = (u - floor - np.float32(0.5)).astype(np.float32)
    i = floor.astype(np.int32)
    p = tables[DEGREE][i]
    for d in range(DEGREE - 1, -1, -1):
        p = (p * t + tables[d][i]).astype(np.float32)
    return float(np.max(np.abs(p - np.array([erf(float(v)) for v in z]))))


if __name__ == "__main__":
    tables = fit()
    print(f"// worst |error| of the float32 evaluation on [0, 4): {worst_error(tables):.2e}")
    for d in range(DEGREE + 1):
        print(f"static const float erf_c{d}[16] = {{" + ", ".join(f"{v:.9e}f" for v in tables[d]) + "};")
