"""Protocols: how images (float32 [0, 1], HxW or HxWx3) become metric inputs, in one place.

``standard`` (default)
    Every image goes to MATLAB-style luminance (``rgb2gray`` weights 0.2989/0.5870/0.1140), rounded
    to uint8 like MATLAB (``floor(y + 0.5)``), handed over as float64 in 0..255. This is how the
    reference toolboxes are called, and what ``shared/reference/images`` already is.
``sesf2020``
    The SESF-Fuse / GACN evaluator (``shared/docs/methods.md`` section 8; ``evaluation.py`` of
    Keep-Passion/SESF-Fuse, branch Experiment @ 9997299056f97412c8c00e8545c8a2ae5abb5b44): the 8-bit
    files are read as uint8; colour images go to scikit-image ``rgb2gray`` luminance
    (``(u8 * (1/255)) @ [0.2125, 0.7154, 0.0721]``, float64 in [0, 1], no rounding); gray images are handed
    to MATLAB unchanged, i.e. float64 holding 0..255. Scale-dependent metrics (above all Qm) therefore
    mix two scales in one table, exactly as the published numbers do. The evaluator decides per call
    from the first source's ``ndim``; here each image is converted by its own ``ndim``, which is the same
    thing for the consistent inputs the evaluator saw (all colour or all gray).

``sesf2020_rgb``
    The same evaluator as it was fed the *other* methods' fused images in the SESF experiment (the
    classical MATLAB rows, CNN-Fuse, DenseFuse): there every image, gray pairs included, reached the
    evaluator as a 3-channel image, so everything is scikit-image luminance in [0, 1]. Identical to
    ``sesf2020`` on colour images. The authors' per-image records show it: on the 6 gray pairs the Qm of
    LP/RP/DTCWT/... is reproduced to 1e-15 only on the [0, 1] scale (about 2.95), while SESF-Fuse's own
    rows are on 0..255 (about 2.3). ``bench paper`` uses it for those rows; it is a reproduction switch,
    not a recommendation.

All protocols first quantise the float image to the 8-bit values of the file it came from
(``floor(x * 255 + 0.5)``, exact for images read by :func:`bench.imageio.read_image`); fused images
that never were files are quantised the same way, as saving them would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bench.errors import UserError
from bench.luminance import MATLAB, SKIMAGE

if TYPE_CHECKING:
    import numpy as np

PROTOCOLS = ("standard", "sesf2020", "sesf2020_rgb")


def _u8(img: np.ndarray) -> np.ndarray:
    """``floor(clip(x, 0, 1) * 255 + 0.5)`` in float64: a new array (the input is never modified), computed
    in place (the same IEEE operations in the same order as that expression, so the same bits)."""
    import numpy as np

    u = np.array(img, dtype=np.float64)
    np.clip(u, 0.0, 1.0, out=u)
    u *= 255.0
    u += 0.5
    return np.floor(u, out=u)


def _standard(img: np.ndarray) -> np.ndarray:
    import numpy as np

    u = _u8(img)  # the file's 8-bit values
    if u.ndim == 2:
        return u
    w = np.array(MATLAB)
    y = u @ w
    y += 0.5
    return np.floor(y, out=y)  # floor(u @ w + 0.5)


def _sesf2020(img: np.ndarray) -> np.ndarray:
    import numpy as np

    u = _u8(img)
    if u.ndim == 2:
        return u
    # skimage.color.rgb2gray on uint8 -> float in [0, 1] with weights 0.2125/0.7154/0.0721
    w = np.array(SKIMAGE)
    u *= 1.0 / 255.0  # skimage img_as_float multiplies by 1/255 (bit-exact with it); u is our own array
    return u @ w


def _sesf2020_rgb(img: np.ndarray) -> np.ndarray:
    import numpy as np

    u = _u8(img)
    if u.ndim == 2:
        u = np.repeat(u[:, :, None], 3, axis=2)  # gray read as a 3-channel image
    u *= 1.0 / 255.0
    return u @ np.array(SKIMAGE)


_FUNCS = {"standard": _standard, "sesf2020": _sesf2020, "sesf2020_rgb": _sesf2020_rgb}


def prepare(images: Sequence[np.ndarray], protocol: str = "standard") -> list[np.ndarray]:
    """Convert images (the one convention) into metric inputs under ``protocol``.

    The results are read-only float64 arrays: every metric of a scoring pass gets the same objects, and
    the metric modules' content-keyed caches then hash each input once (metrics._structural._array_key).
    """
    import numpy as np

    from metrics._memo import freeze

    try:
        fn = _FUNCS[protocol]
    except KeyError:
        raise UserError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}") from None
    return [freeze(fn(np.asarray(im))) for im in images]
