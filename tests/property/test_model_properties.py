"""Property tests of the model: random parameters within bounds, secretome on.

Parameters are drawn log-uniformly within their bounds (every non-input row of
models/parameters.csv, for a random cell line and MSC source); the secretome is
delivered by transwell or conditioned medium. Over 168 h no species may go
negative and every conserved total must stay constant.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from model_fixtures import SPEC, runner
from secretome import libroadrunner, model

RR = runner()
TABLE = SPEC.parameters


def _draw(seed: int, mode: str) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    cell_line = model.CELL_LINES[rng.integers(len(model.CELL_LINES))]
    source = model.MSC_SOURCES[rng.integers(len(model.MSC_SOURCES))]
    values = model.parameter_values(SPEC, cell_line, source)
    free = TABLE[(TABLE["scope"] != "input") & (TABLE["context"].isin(["", cell_line, source]))]
    free = free[free["lower"] < free["upper"]]  # facts (TP53, CDKN2A status) stay fixed
    for row in free.itertuples(index=False):
        lo, hi = np.log10(row.lower), np.log10(row.upper)
        values[row.name] = float(10 ** rng.uniform(lo, hi))
    if mode == "transwell":
        values["msc_density"] = float(10 ** rng.uniform(-1, 0.5))
    else:
        values["cm_fraction"] = float(rng.uniform(0.1, 1.0))
    return values


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from(["transwell", "cm"]))
def test_random_parameters_keep_species_nonnegative_and_totals_conserved(seed, mode):
    values = _draw(seed, mode)
    libroadrunner.apply_parameters(RR, values)
    RR.timeCourseSelections = ["time", *SPEC.species]
    result = np.asarray(RR.simulate(0.0, 168.0, 85))[:, 1:]
    assert np.all(np.isfinite(result))
    scale = np.maximum(np.abs(result).max(axis=0), 1e-12)
    assert np.all(result >= -1e-9 * scale), [
        SPEC.species[i] for i in np.where((result < -1e-9 * scale).any(axis=0))[0]
    ]
    index = {s: i for i, s in enumerate(SPEC.species)}
    for total in SPEC.conserved:
        series = result[:, [index[s] for s in total.species]].sum(axis=1)
        np.testing.assert_allclose(series, series[0], rtol=1e-6, err_msg=total.name)
