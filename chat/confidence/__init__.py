"""How likely an answer is right: signals measured on every answer, turned into a calibrated
probability by a small per-generator model fitted on labelled questions (``docduet eval --calibrate``).
"""

from chat.confidence.assess import Assessor, level_for
from chat.confidence.calibration import Calibration, CalibrationError, fit_calibration, load_calibrations
from chat.confidence.signals import SIGNALS, measure

__all__ = [
    "SIGNALS",
    "Assessor",
    "Calibration",
    "CalibrationError",
    "fit_calibration",
    "level_for",
    "load_calibrations",
    "measure",
]
