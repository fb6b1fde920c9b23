"""secretome: the MSC secretome's effect on cancer-cell signalling, as a fitted ODE model.

Stages, each a module with a small verb API: :mod:`secretome.data` (the evidence
base), :mod:`secretome.model` (the Antimony model and its parameter table), and the
command line in :mod:`secretome.cli`.
"""

from secretome.errors import SecretomeError

__all__ = ["SecretomeError", "__version__"]
__version__ = "0.1.0"
