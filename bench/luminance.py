"""Luminance (RGB -> gray) weights, one home for the three conventions the field uses.

* :data:`MATLAB`: MATLAB ``rgb2gray`` (the exact coefficients of the inverse of the NTSC transform that
  MATLAB computes, rounding to 0.2989/0.5870/0.1140);
* :data:`SKIMAGE`: scikit-image ``rgb2gray`` (ITU-R BT.709 coefficients);
* :data:`BT601`: ITU-R BT.601 luma, as OpenCV ``cvtColor(RGB2GRAY)`` and JPEG's YCbCr use.

Tuples of Python floats, so this module imports nothing; callers build arrays of the dtype their
reference computes in (``np.array(MATLAB)`` is float64, exactly the literals below).
"""

from __future__ import annotations

MATLAB = (0.298936021293775, 0.587043074451121, 0.114020904255103)
SKIMAGE = (0.2125, 0.7154, 0.0721)
BT601 = (0.299, 0.587, 0.114)
