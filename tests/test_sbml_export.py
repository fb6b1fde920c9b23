"""The annotated SBML: units, names, SBO terms, identifiers; the simulators' mathematics."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import libsbml
import numpy as np
import pytest
import roadrunner

from model_fixtures import SPEC
from secretome import codegen, model, sbml_export
from secretome.errors import ValidationError

UNIPROT = re.compile(r"[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9]([A-Z][A-Z0-9]{2}[0-9]){1,2}")


@pytest.fixture(scope="module")
def annotated() -> str:
    return sbml_export.annotated_sbml(SPEC)


@pytest.fixture(scope="module")
def doc(annotated):
    return libsbml.readSBMLFromString(annotated)


def test_no_errors_and_no_warnings_of_any_kind(annotated):
    found = sbml_export.check(annotated)
    assert found.errors == ()
    assert found.warnings == {}, found.messages[:5]
    # the plain SBML the simulators use is what the issue measured: no units at all
    assert sbml_export.check(SPEC.sbml).unit_warnings > 800


def test_units_time_in_hours_levels_dimensionless(doc):
    m = doc.getModel()
    assert m.getTimeUnits() == "hour"
    assert m.getSubstanceUnits() == m.getVolumeUnits() == m.getExtentUnits() == "dimensionless"
    hour = m.getUnitDefinition("hour").getUnit(0)
    assert (hour.getKind(), hour.getExponent(), hour.getMultiplier()) == (
        libsbml.UNIT_KIND_SECOND,
        1,
        3600,
    )
    assert all(p.isSetUnits() for p in m.getListOfParameters())
    assert m.getParameter("th_p53").getUnits() == "hour"
    assert m.getParameter("kd_p53").getUnits() == "per_hour"  # derived from ln 2 / th
    assert m.getParameter("sec_IL2").getUnits() == "per_hour_per_msc_density"
    assert m.getParameter("obs_prot_pERK").getUnits() == "dimensionless"


def test_every_element_named_with_an_sbo_term(doc):
    m = doc.getModel()
    elements = [
        *m.getListOfCompartments(),
        *m.getListOfSpecies(),
        *m.getListOfReactions(),
        *m.getListOfParameters(),
        *m.getListOfFunctionDefinitions(),
    ]
    unnamed = [e.getId() for e in elements if not e.isSetName()]
    no_sbo = [e.getId() for e in elements if not e.isSetSBOTerm()]
    assert unnamed == [] and no_sbo == []
    assert m.getSpecies("pSTAT3").getSBOTermID() == "SBO:0000252"  # polypeptide chain
    assert m.getSpecies("JAK2_mRNA").getSBOTermID() == "SBO:0000250"  # ribonucleic acid
    assert m.getReaction("deg_p53").getSBOTermID() == "SBO:0000179"  # degradation
    assert m.getReaction("tx_JAK2").getSBOTermID() == "SBO:0000183"  # transcription
    assert not any(r.getReversible() for r in m.getListOfReactions())


def _resources(element) -> list[tuple[int, str]]:
    out = []
    for i in range(element.getNumCVTerms()):
        term = element.getCVTerm(i)
        for k in range(term.getNumResources()):
            out.append((term.getBiologicalQualifierType(), term.getResourceURI(k)))
    return out


def test_identifiers_are_well_formed_and_cover_the_measured_genes(doc):
    m = doc.getModel()
    for s in m.getListOfSpecies():
        for _, uri in _resources(s):
            assert uri.startswith("https://identifiers.org/"), uri
            prefix, _, accession = uri.removeprefix("https://identifiers.org/").partition(":")
            if prefix == "uniprot":
                assert UNIPROT.fullmatch(accession), uri
    pstat3 = _resources(m.getSpecies("pSTAT3"))
    assert (libsbml.BQB_IS_VERSION_OF, "https://identifiers.org/uniprot:P40763") in pstat3
    assert (libsbml.BQB_IS_ENCODED_BY, "https://identifiers.org/hgnc.symbol:STAT3") in pstat3
    # every HGNC symbol of observables.csv is now in the model, on its readout
    for obs in SPEC.observables:
        uris = {u for _, u in _resources(m.getParameter(obs.variable))}
        for symbol in filter(None, obs.hgnc.split(";")):
            assert f"https://identifiers.org/hgnc.symbol:{symbol}" in uris, obs.name
    assert (libsbml.BQB_HAS_TAXON, "https://identifiers.org/taxonomy:9606") in _resources(m)


def test_v2_receptors_stats_and_rat_cytokines_are_identified(doc):
    """Model v2's new species carry the human entries; the MSC's rat cytokines their own."""
    m = doc.getModel()
    uri = "https://identifiers.org/{}".format
    r4ii = _resources(m.getSpecies("R4II"))
    # IL4R, IL13RA1, JAK1, TYK2, JAK2
    for accession in ("P24394", "P78552", "P23458", "P29597", "O60674"):
        assert (libsbml.BQB_HAS_PART, uri(f"uniprot:{accession}")) in r4ii
    assert (libsbml.BQB_HAS_PART, uri("uniprot:P52333")) in _resources(m.getSpecies("R2"))  # JAK3
    pstat5 = _resources(m.getSpecies("pSTAT5"))
    assert {(libsbml.BQB_HAS_VERSION, uri(f"uniprot:{a}")) for a in ("P42229", "P51692")} <= set(
        pstat5
    )
    assert (libsbml.BQB_IS_VERSION_OF, uri("uniprot:P42226")) in _resources(m.getSpecies("pSTAT6"))
    # rat IL-2 (the rat bone-marrow MSCs' share) is part of the medium's IL-2, not what it is
    il2 = _resources(m.getSpecies("IL2"))
    assert (libsbml.BQB_IS, uri("uniprot:P60568")) in il2
    assert (libsbml.BQB_HAS_PART, uri("uniprot:P17108")) in il2
    # and the rat MSCs' IL-4 and IL-15 (UniProt IL4_RAT, IL15_RAT)
    assert (libsbml.BQB_HAS_PART, uri("uniprot:P20096")) in _resources(m.getSpecies("IL4"))
    il15 = _resources(m.getSpecies("IL15"))
    assert {(libsbml.BQB_HAS_PART, uri(u)) for u in ("uniprot:P97604", "ncbigene:25670")} <= set(
        il15
    )
    assert (libsbml.BQB_HAS_TAXON, uri("taxonomy:10116")) in _resources(m)
    # TERC is an RNA: a gene identifier, no protein entry
    terc = _resources(m.getSpecies("TERC"))
    assert (libsbml.BQB_IS_ENCODED_BY, uri("hgnc.symbol:TERC")) in terc
    assert not any("uniprot" in u for _, u in terc)
    assert m.getSpecies("TERC").getSBOTermID() == "SBO:0000250"


def test_cell_numbers_and_the_well_are_in_cells_seeded(doc):
    """capacity's unit ('cells seeded') is the cell species' unit, so crowding and the
    division rate derive to units the tables name (no unit made up from a formula)."""
    m = doc.getModel()
    for pid in ("capacity", "N_cells", "crowd", "p0"):
        assert m.getParameter(pid).getUnits() == "dimensionless", pid
    for pid in ("mu", "kp", "k_arr0", "k_rel", "ka_STAT5", "k_cl0"):
        assert m.getParameter(pid).getUnits() == "per_hour", pid
    ids = {u.getId() for u in m.getListOfUnitDefinitions()}
    assert ids == {u.sbml_unit for u in sbml_export.load_units(SPEC.models_dir).values()} - {
        "dimensionless"
    }


def test_notes_carry_provenance_units_and_every_context(doc):
    notes = doc.getModel().getNotesString()
    for text in ("doi:10.1016/j.reth.2024.08.008", "time is in hours", "dimensionless"):
        assert text in notes
    for context in (*SPEC.cell_lines, *SPEC.msc_sources):
        assert f"<th>{context}</th>" in notes
    table = sbml_export.context_table(SPEC.parameters)
    kg1a = table.set_index("name").loc["e0", "KG1a_CD34"]
    assert kg1a == SPEC.parameters.query("name == 'e0' and context == 'KG1a_CD34'")["value"].item()
    # the context facts of model v2 (TP53 status, cross-species activity) are in the
    # table and listed with their sources
    facts = table.set_index("name")
    assert facts.loc["tp53_wt", "KG1a_CD34"] == 0.0 and facts.loc["tp53_wt", "AGS"] == 1.0
    assert facts.loc["act_IL4", "rat_bone_marrow"] < facts.loc["act_IL4", "human_adipose"] == 1
    source = SPEC.parameters.query("name == 'tp53_wt' and context == 'KG1a_CD34'")["source"]
    assert "PMID 1571549" in source.item()
    assert "tp53_wt [KG1a_CD34] = 0: cell_lines.csv: mutant; assumed" in notes
    assert "PMID 1571549" in notes
    assert "capacity = cells the well holds" in notes


def test_mathematics_unchanged(annotated):
    """Same generated code, same libRoadRunner trajectory as the SBML the simulators use."""
    assert (
        codegen.generate(annotated, None, "python").source
        == codegen.generate(SPEC.sbml, None, "python").source
    )
    runs = []
    for sbml in (SPEC.sbml, annotated):
        rr = roadrunner.RoadRunner(sbml)
        rr.getIntegrator().setValue("relative_tolerance", 1e-10)
        rr.getIntegrator().setValue("absolute_tolerance", 1e-14)
        rr["msc_density"] = 0.5
        rr.reset()
        runs.append(rr.simulate(0, 168, 5, selections=["time", *SPEC.species]))
    assert np.array_equal(runs[0], runs[1])


def test_write_sbml_writes_the_annotated_model(tmp_path):
    out = model.write_sbml(SPEC, tmp_path / "m.xml")
    text = out.read_text(encoding="utf-8")
    assert 'timeUnits="hour"' in text and "identifiers.org/uniprot:P04637" in text


def _copy_models(tmp_path: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(SPEC.models_dir, target)
    return target


def test_bad_annotation_rows_are_reported_together(tmp_path):
    models = _copy_models(tmp_path)
    path = models / sbml_export.ANNOTATION_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.append("speciez,p53,x,SBO:1,,,,,,,")
    lines.append("species,JAK2,x,SBO:0000252,uniprot P1,,,,,,")
    lines.append("parameter,re:(,x,,,,,,,,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        sbml_export.load_annotations(models)
    message = str(exc.value)
    for text in ("element", "SBO:nnnnnnn", "compact identifier", "does not compile", "repeated"):
        assert text in message


def test_rows_of_removed_elements_are_reported(tmp_path):
    """A row for an element the model no longer has (model v1's V, a pattern matching
    nothing) is an error, not silently kept."""
    models = _copy_models(tmp_path)
    path = models / sbml_export.ANNOTATION_FILE
    text = path.read_text(encoding="utf-8")
    text += "species,V,viable tumour cells,SBO:0000240,,,,,,,\n"
    text += "reaction,re:^frame_,loss of {reactants},SBO:0000394,,,,,,,\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        sbml_export.annotate(
            SPEC.sbml,
            parameters=SPEC.parameters,
            observables=SPEC.observables,
            models_dir=models,
            default_context=(SPEC.cell_lines[0], SPEC.msc_sources[0]),
        )
    message = str(exc.value)
    assert "no species 'V' in the model" in message
    assert "(reaction re:^frame_)" in message and "matches no reaction" in message


def test_a_unit_missing_from_units_csv_is_named(tmp_path):
    models = _copy_models(tmp_path)
    table = SPEC.parameters.copy()
    table.loc[table["name"] == "th_p53", "unit"] = "fortnights"
    with pytest.raises(ValidationError, match=r"'fortnights' is not a unit of units\.csv"):
        sbml_export.annotate(
            SPEC.sbml,
            parameters=table,
            observables=SPEC.observables,
            models_dir=models,
            default_context=(SPEC.cell_lines[0], SPEC.msc_sources[0]),
        )
