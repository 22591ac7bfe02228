"""Published DT-CWT filter coefficients (level-1 biorthogonal sets and the qshift_06 Q-shift filters).

Data only; the transform is :mod:`baselines._dtcwt_transform` (same provenance as that module).
"""

import numpy as np

# --- published filter coefficients ------------------------------------------------------------------------
# legall (biorthogonal LeGall 5/3), level 1: analysis h0o/h1o, synthesis g0o/g1o.
LEGALL_H0O = np.array([-0.125, 0.25, 0.75, 0.25, -0.125])
LEGALL_H1O = np.array([-0.25, 0.5, -0.25])
LEGALL_G0O = np.array([0.25, 0.5, 0.25])
LEGALL_G1O = np.array([-0.125, -0.25, 0.75, -0.25, -0.125])

# near_sym_a (Antonini-like near-symmetric 5/7 taps), level 1 (Kingsbury's ``near_sym_a.mat``): the level-1
# filters of the Liu et al. (2020) survey's DTCWT results (see baselines/dtcwt.py, preset="liu2020").
NEAR_SYM_A_H0O = np.array([-0.05, 0.25, 0.6, 0.25, -0.05])
NEAR_SYM_A_H1O = np.array(
    [
        0.010714285714285713,
        -0.05357142857142857,
        -0.26071428571428573,
        0.6071428571428571,
        -0.26071428571428573,
        -0.05357142857142857,
        0.010714285714285713,
    ]
)
NEAR_SYM_A_G0O = np.array(
    [
        -0.010714285714285713,
        -0.05357142857142857,
        0.26071428571428573,
        0.6071428571428571,
        0.26071428571428573,
        -0.05357142857142857,
        -0.010714285714285713,
    ]
)
NEAR_SYM_A_G1O = np.array([-0.05, -0.25, 0.6, -0.25, -0.05])

#: level-1 (biorthogonal) filter sets by toolbox name: analysis h0o, h1o; synthesis g0o, g1o
BIORT = {
    "legall": (LEGALL_H0O, LEGALL_H1O, LEGALL_G0O, LEGALL_G1O),
    "near_sym_a": (NEAR_SYM_A_H0O, NEAR_SYM_A_H1O, NEAR_SYM_A_G0O, NEAR_SYM_A_G1O),
}

# qshift_06 (orthogonal Q-shift, 10 taps of which 6 non-zero), levels >= 2: tree-a analysis filters.
QSHIFT06_H0A = np.array(
    [
        0.03516383657149474,
        0.0,
        -0.08832942445107285,
        0.23389032060723564,
        0.7602723690661257,
        0.5875182977235605,
        0.0,
        -0.11430183714424873,
        0.0,
        0.0,
    ]
)
QSHIFT06_H1A = np.array(
    [
        0.0,
        0.0,
        -0.11430183714424873,
        0.0,
        0.5875182977235605,
        -0.7602723690661257,
        0.23389032060723564,
        0.08832942445107285,
        0.0,
        -0.03516383657149474,
    ]
)
# Tree b is the time reverse of tree a; orthogonal synthesis filters are the analysis filters reversed.
QSHIFT06_H0B = QSHIFT06_H0A[::-1].copy()
QSHIFT06_H1B = QSHIFT06_H1A[::-1].copy()
QSHIFT06_G0A, QSHIFT06_G0B = QSHIFT06_H0B, QSHIFT06_H0A
QSHIFT06_G1A, QSHIFT06_G1B = QSHIFT06_H1B, QSHIFT06_H1A
