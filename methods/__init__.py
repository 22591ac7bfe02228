"""Deep fusion methods. Each module registers one method; torch is imported lazily inside them.

The modules are named explicitly in ``ENTRY_MODULES`` and are not imported here: the registry
(:mod:`bench.plugins`) imports one when one of its entries is used, and reads every entry's metadata
from an index, so listing entries or running one method imports nothing else. Add a new module's
name here.
"""

ENTRY_MODULES = (
    "_train_gacn",
    "_train_sesf",
    "fmm",
    "gacn",
    "ifcnn",
    "msrsf",
    "sesf",
    "sesf_scse",
    "sesf_sse",
    "sff",
)
