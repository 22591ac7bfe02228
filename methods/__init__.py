"""Deep fusion methods. Each module registers one method; torch is imported lazily inside them."""
from methods import fmm  # noqa: F401
from methods import msrsf  # noqa: F401
from methods import sff  # noqa: F401
from methods import sesf  # noqa: F401
from methods import sesf_sse  # noqa: F401
from methods import sesf_scse  # noqa: F401
from methods import gacn  # noqa: F401
from methods import _train_sesf  # noqa: F401
from methods import _train_gacn  # noqa: F401
