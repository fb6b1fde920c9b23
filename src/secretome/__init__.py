"""secretome: the MSC secretome's effect on cancer-cell signalling, as a fitted ODE model.

``import secretome as st`` is the whole tour; every name below is a verb or a
result of one stage, and each stage is a module with more (``secretome.<module>``).

Evidence (:mod:`secretome.data`)
    load_evidence, summarise, validate_evidence
Model (:mod:`secretome.model`)
    load_model, parameter_values, write_sbml, ModelSpec
Scenarios: in-silico experiments as TOML files (:mod:`secretome.scenarios`)
    load_scenario, shipped_scenarios, Scenario, Perturbation
Simulation (:mod:`secretome.simulation`; backends :mod:`secretome.compiled`,
:mod:`secretome.libroadrunner`)
    simulate, SimulationResult, BACKENDS
Model versus evidence (:mod:`secretome.comparison`)
    compare, measured_observables, evidence_for
Calibration (:mod:`secretome.objective`, :mod:`secretome.fitting`)
    load_fit_config, FitConfig, Objective, fit, FitResult
Posterior ensembles (:mod:`secretome.sampling`, :mod:`secretome.sampling_report`)
    sample, Chains, SecretomePosterior
Bands from an ensemble, and decisive predictions (:mod:`secretome.ensemble`,
:mod:`secretome.decisive`)
    load_ensemble, run_ensemble, Ensemble, decisive_predictions
What the data determine (:mod:`secretome.identifiability`)
    profile, classify, jacobian_check, leave_one_study_out
Global sensitivity analysis (:mod:`secretome.gsa`, :mod:`secretome.gsa_report`)
    sensitivity, SensitivityResult
What each secretome factor contributes (:mod:`secretome.contributions`,
:mod:`secretome.contributions_report`)
    attribution, Attribution
Reports: files and figures a person reads (:mod:`secretome.report`)
    reproduce, simulation_report, shipped_parameters
Parameter sets, checked against the table and named (:mod:`secretome.parameter_sets`)
    shipped_fit, nominal_parameters, choose_parameters, check_values
Interactive "what if?" in a notebook (:mod:`secretome.explorer`, ipywidgets)
    explore
Files and exchange (:mod:`secretome.io`, :mod:`secretome.petab_export`,
:mod:`secretome.omex_export`, :mod:`secretome.sbml_export`)
    read_parameter_file, export_petab, export_omex
Errors (:mod:`secretome.errors`)
    SecretomeError (bad input a user can fix), ValidationError, SimulationFailed

Names are imported on first use, so ``import secretome`` (and the command line)
stays fast; ``help(secretome.simulate)`` shows each one's documentation. The
plotting functions live with their stage: ``st.report.plot_timecourses``,
``st.report.plot_model_vs_data``, ``st.gsa_report.plot_ranked``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_API: dict[str, str] = {
    **dict.fromkeys(["load_evidence", "summarise", "validate_evidence"], "data"),
    **dict.fromkeys(["load_model", "parameter_values", "write_sbml", "ModelSpec"], "model"),
    **dict.fromkeys(
        ["load_scenario", "shipped_scenarios", "Scenario", "Perturbation"], "scenarios"
    ),
    **dict.fromkeys(["simulate", "SimulationResult", "BACKENDS"], "simulation"),
    **dict.fromkeys(["compare", "measured_observables", "evidence_for"], "comparison"),
    **dict.fromkeys(["load_fit_config", "FitConfig", "Objective", "NoiseGroup"], "objective"),
    **dict.fromkeys(["fit", "FitResult", "library_versions"], "fitting"),
    **dict.fromkeys(["sample", "Chains", "SecretomePosterior"], "sampling"),
    **dict.fromkeys(["load_ensemble", "run_ensemble", "Ensemble"], "ensemble"),
    "decisive_predictions": "decisive",
    **dict.fromkeys(
        [
            "profile",
            "classify",
            "jacobian_check",
            "leave_one_study_out",
            "confidence_intervals",
            "profile_summary",
            "CoarseProfileWarning",
        ],
        "identifiability",
    ),
    **dict.fromkeys(["sensitivity", "SensitivityResult"], "gsa"),
    **dict.fromkeys(["attribution", "Attribution"], "contributions"),
    **dict.fromkeys(["reproduce", "simulation_report", "shipped_parameters"], "report"),
    "read_parameter_file": "io",
    "export_petab": "petab_export",
    **dict.fromkeys(["load_variants", "Variant"], "variants"),
    **dict.fromkeys(["select", "SelectionResult", "discriminating_measurements"], "selection"),
    "export_omex": "omex_export",
    "explore": "explorer",
    **dict.fromkeys(["SecretomeError", "ValidationError", "SimulationFailed"], "errors"),
}

__all__ = [  # literal, so linters see it; tests/test_api.py checks it against _API
    "BACKENDS",
    "Attribution",
    "Chains",
    "CoarseProfileWarning",
    "Ensemble",
    "FitConfig",
    "FitResult",
    "ModelSpec",
    "NoiseGroup",
    "Objective",
    "Perturbation",
    "Scenario",
    "SecretomeError",
    "SecretomePosterior",
    "SelectionResult",
    "SensitivityResult",
    "SimulationFailed",
    "SimulationResult",
    "ValidationError",
    "Variant",
    "__version__",
    "attribution",
    "classify",
    "compare",
    "confidence_intervals",
    "decisive_predictions",
    "discriminating_measurements",
    "evidence_for",
    "explore",
    "export_omex",
    "export_petab",
    "fit",
    "jacobian_check",
    "leave_one_study_out",
    "library_versions",
    "load_ensemble",
    "load_evidence",
    "load_fit_config",
    "load_model",
    "load_scenario",
    "load_variants",
    "measured_observables",
    "parameter_values",
    "profile",
    "profile_summary",
    "read_parameter_file",
    "reproduce",
    "run_ensemble",
    "sample",
    "select",
    "sensitivity",
    "shipped_parameters",
    "shipped_scenarios",
    "simulate",
    "simulation_report",
    "summarise",
    "validate_evidence",
    "write_sbml",
]


#: Stage modules reachable as attributes (``st.report.plot_timecourses``) without
#: an import of their own.
_MODULES = frozenset(
    {
        "contributions",
        "contributions_report",
        "comparison",
        "data",
        "decisive",
        "ensemble",
        "explorer",
        "fitting",
        "gsa",
        "gsa_report",
        "identifiability",
        "model",
        "objective",
        "parameter_sets",
        "report",
        "sampling",
        "scenarios",
        "selection",
        "simulation",
        "variants",
    }
)


def __getattr__(name: str) -> Any:
    # PEP 562: import a stage only when one of its names is first used
    if name in _MODULES:
        return importlib.import_module(f"secretome.{name}")
    try:
        module = _API[name]
    except KeyError:
        raise AttributeError(f"module 'secretome' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"secretome.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ does this
    from secretome.comparison import compare, evidence_for, measured_observables
    from secretome.contributions import Attribution, attribution
    from secretome.data import load_evidence, summarise, validate_evidence
    from secretome.decisive import decisive_predictions
    from secretome.ensemble import Ensemble, load_ensemble, run_ensemble
    from secretome.errors import SecretomeError, SimulationFailed, ValidationError
    from secretome.explorer import explore
    from secretome.fitting import FitResult, fit, library_versions
    from secretome.gsa import SensitivityResult, sensitivity
    from secretome.identifiability import (
        CoarseProfileWarning,
        classify,
        confidence_intervals,
        jacobian_check,
        leave_one_study_out,
        profile,
        profile_summary,
    )
    from secretome.io import read_parameter_file
    from secretome.model import ModelSpec, load_model, parameter_values, write_sbml
    from secretome.objective import FitConfig, NoiseGroup, Objective, load_fit_config
    from secretome.omex_export import export_omex
    from secretome.petab_export import export_petab
    from secretome.report import reproduce, shipped_parameters, simulation_report
    from secretome.sampling import Chains, SecretomePosterior, sample
    from secretome.scenarios import Perturbation, Scenario, load_scenario, shipped_scenarios
    from secretome.simulation import BACKENDS, SimulationResult, simulate
