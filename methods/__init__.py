"""Deep fusion methods. Each module registers one method; torch is imported lazily inside them."""
from methods import (
    _train_gacn,  # noqa: F401
    _train_sesf,  # noqa: F401
    fmm,  # noqa: F401
    gacn,  # noqa: F401
    ifcnn,  # noqa: F401
    msrsf,  # noqa: F401
    sesf,  # noqa: F401
    sesf_scse,  # noqa: F401
    sesf_sse,  # noqa: F401
    sff,  # noqa: F401
)
