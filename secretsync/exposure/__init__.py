"""`secretsync exposure`: what git history still gives away after values moved to Doppler."""

from secretsync.exposure.history import (
    Exposed,
    ExposureOptions,
    ExposureReport,
    Place,
    Stamp,
    run_exposure,
)

__all__ = ["Exposed", "ExposureOptions", "ExposureReport", "Place", "Stamp", "run_exposure"]
