"""Shared pieces of the multi-scale-transform (MST) baselines (lp, rp, dwt, dtcwt, nsct, sr, ...).

One import point, split by role (each module names its source at the top):

* :mod:`baselines._mst_rules` - the toolbox's coefficient rules: ``es2``/``adb`` extensions, ``selc`` mode 3
  (:func:`choose_max_consistency`), ``selb`` mode 3 (:func:`average_bands`);
* :mod:`baselines._mst_driver` - [0, 1] sources to the toolbox's 0..255 scale and back
  (:func:`run_toolbox_method`, :func:`check_sources`, :func:`matlab_uint8`);
* :mod:`baselines._mst_pyramid` - the Gaussian pyramid steps of LP and RP.

Written from Yu Liu's MST-SR fusion toolbox, https://github.com/yuliu316316/MST-SR-Fusion-Toolbox
@ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e (no licence file; nothing copied).
"""

from __future__ import annotations

from baselines._mst_driver import (  # noqa: F401
    _EIGHT_BIT_TOL,
    QUANTIZE_MODES,
    _near_grid,
    _resize_planes,
    _snap_to_grid,
    check_sources,
    matlab_uint8,
    run_toolbox_method,
    split_sources,
    to_toolbox_scale,
    truncate_uint8,
)
from baselines._mst_pyramid import (  # noqa: F401
    _pyramid_reduce_es2,
    check_pyramid_size,
    pyramid_expand,
    pyramid_reduce,
    pyramid_reduce_each,
)
from baselines._mst_rules import (  # noqa: F401
    _CHUNK_BYTES,
    _COL3,
    _CV_MAX_CHANNELS,
    _RECT3,
    _ROW3,
    _activity_cv,
    _activity_hbw,
    _activity_np,
    _box3_valid,
    _cv_channels,
    _greater_activity_blocked,
    _max3x3,
    _select_by_activity,
    _sl,
    adb,
    average_bands,
    choose_max_consistency,
    choose_max_consistency_es2,
    es2,
    es2_fill_border,
)
