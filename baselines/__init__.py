"""Classical fusion methods. Each module registers one method; imports are explicit, by name."""

from baselines import (
    average,  # noqa: F401
    dtcwt,  # noqa: F401
    dwt,  # noqa: F401
    focusstack,  # noqa: F401
    guided_filtering,  # noqa: F401
    laplacian_pyramid,  # noqa: F401
    maximum,  # noqa: F401
    nsct,  # noqa: F401
    nsct_sr,  # noqa: F401
    ratio_pyramid,  # noqa: F401
    spatial_frequency,  # noqa: F401
    sr,  # noqa: F401
)
