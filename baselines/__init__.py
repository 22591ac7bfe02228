"""Classical fusion methods. Each module registers one method; imports are explicit, by name."""

from baselines import average  # noqa: F401
from baselines import maximum  # noqa: F401
from baselines import guided_filtering  # noqa: F401
from baselines import focusstack  # noqa: F401
from baselines import spatial_frequency  # noqa: F401
from baselines import laplacian_pyramid  # noqa: F401
from baselines import ratio_pyramid  # noqa: F401
from baselines import dwt  # noqa: F401
from baselines import dtcwt  # noqa: F401
