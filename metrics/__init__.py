"""Fusion metrics. Each module registers one metric family; imports are explicit, by name."""

from metrics import entropy  # noqa: F401
from metrics import qg  # noqa: F401
from metrics import qabf  # noqa: F401
from metrics import nabf  # noqa: F401
from metrics import qm  # noqa: F401
from metrics import qsf  # noqa: F401
from metrics import qp  # noqa: F401
from metrics import qcb  # noqa: F401
from metrics import ssim  # noqa: F401
from metrics import ms_ssim  # noqa: F401
from metrics import mef_ssim  # noqa: F401
from metrics import qy  # noqa: F401
from metrics import qs  # noqa: F401
from metrics import qc  # noqa: F401
from metrics import qcv  # noqa: F401
from metrics import vif  # noqa: F401
from metrics import viff  # noqa: F401
from metrics import qy_sesf  # noqa: F401
