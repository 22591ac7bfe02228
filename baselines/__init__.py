"""Classical fusion methods. Each module registers one method.

The modules are named explicitly in ``ENTRY_MODULES`` and are not imported here: the registry
(:mod:`bench.plugins`) imports one when one of its entries is used, and reads every entry's metadata
from an index, so listing entries or running one method imports nothing else. Add a new module's
name here.
"""

ENTRY_MODULES = (
    "asr",
    "average",
    "brw",
    "dsift",
    "dtcwt",
    "dwt",
    "focusstack",
    "gfdf",
    "guided_filtering",
    "ica",
    "laplacian_pyramid",
    "maximum",
    "misf",
    "mwgf",
    "nsct",
    "nsct_sr",
    "quadtree",
    "ratio_pyramid",
    "spatial_frequency",
    "sr",
)
