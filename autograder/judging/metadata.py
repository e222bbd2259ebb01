"""Tampered nbgrader metadata: graded, with the tampered cells at zero, never left ungraded.

A student can edit any cell's nbgrader metadata (Jupyter's property inspector, a text editor): change
a test cell's points, remove its `grade`, rename or duplicate its grade_id, bump schema_version, add
a key, unlock it, turn it into markdown. (A missing checksum or cell_type key is only put back:
nbgrader fills them in itself and a notebook written from the instructor's source has none.) Some of these make nbgrader refuse the whole notebook
(CheckCellMetadata, OverwriteCells' checksums: no grade at all, which a cheat may prefer to a low
one); others it quietly repairs, and the test is judged as if nothing happened.

`RestoreCellMetadata` runs first in the sanitize pass, before nbgrader's own steps. It compares every
cell's nbgrader metadata with the notebook the student was given (the release) and puts back the
released metadata and cell type of every cell whose grade_id it knows, matching a renamed cell by its
checksum and a cell stripped of its metadata by its source; what it cannot place loses its nbgrader
metadata (it is the student's own cell). Each tampered cell is recorded in the notebook's metadata
(`nn273.metadata_changed`, a student's own `nn273` keys are removed first); a tampered test cell is
marked, and `ScoreTamperedCells`, right after the execute step, gives it an error output that says
why, so nbgrader's SaveAutoGrades scores it 0. `tamper_notes` reads the record back for the report.
"""

import copy
import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from traitlets import Unicode

from nbgrader.preprocessors import NbGraderPreprocessor

__all__ = ["METADATA_CHANGED", "RestoreCellMetadata", "ScoreTamperedCells", "tamper_notes"]

METADATA_CHANGED = "CellMetadataChanged"  # the ename of a tampered test cell's error output
KEY = "nn273"  # our own metadata key, on cells and on the notebook
# Keys that nbgrader's generate_assignment fills in and nothing needs from a submission: missing,
# they are put back without counting as a change (nbgrader itself grades without them).
_FILLED_IN = ("checksum", "cell_type")


class RestoreCellMetadata(NbGraderPreprocessor):
    """Put back the released nbgrader metadata of every cell; record and mark what was changed."""

    release = Unicode(help="folder of the released notebooks, <assignment>/<notebook>.ipynb").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        nb.metadata.pop(KEY, None)
        for cell in nb.cells:
            cell.metadata.pop(KEY, None)
        path = Path(self.release) / info["assignment"] / f"{info['notebook']}.ipynb"
        if not self.release or not path.is_file():
            self.log.warning("No released notebook at %s: nbgrader metadata not checked against it", path)
            return nb, resources
        released = _released_cells(nbformat.read(path, as_version=4))
        notes = restore(nb, released)
        if notes:
            nb.metadata[KEY] = {"metadata_changed": notes}
        return nb, resources


def _released_cells(release):
    """grade_id -> (cell_type, nbgrader metadata, source) of the notebook the students were given."""
    cells = {}
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader")
        if isinstance(meta, dict) and meta.get("grade_id"):
            cells[meta["grade_id"]] = (cell.cell_type, dict(meta), cell.source)
    return cells


def restore(nb, released):
    """Give every cell of `nb` the metadata `released` has for it; the notes of what was changed."""
    notes = []
    owner = {}  # grade_id -> index of the cell that keeps it
    loose = []  # indices of cells with nbgrader metadata that no released cell claims (yet)
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(gid, str) or gid not in released:
            loose.append(index)
        elif gid in owner:  # a copy: the one that matches the release keeps the name
            other = owner[gid]
            if _matches(nb.cells[index], released[gid]) and not _matches(nb.cells[other], released[gid]):
                owner[gid], index = index, other
            loose.append(index)
        else:
            owner[gid] = index
    # a renamed cell still carries its checksum; a cell stripped of its metadata, its source
    by_checksum = {meta.get("checksum"): gid for gid, (_, meta, _) in released.items() if meta.get("checksum")}
    by_source = {source: gid for gid, (_, meta, source) in released.items() if meta.get("locked") and source.strip()}
    for index in sorted(loose):
        cell = nb.cells[index]
        meta = cell.metadata.get("nbgrader")
        checksum = meta.get("checksum") if isinstance(meta, dict) else None
        gid = by_checksum.get(checksum) if isinstance(checksum, str) else None
        if gid is not None and gid not in owner:
            owner[gid] = index
            continue
        del cell.metadata["nbgrader"]
        shown = meta.get("grade_id") if isinstance(meta, dict) else None
        what = f"'{shown}'" if isinstance(shown, str) and re.fullmatch(r"[\w-]{1,60}", shown) else f"#{index + 1}"
        notes.append(f"cell {what}: its nbgrader metadata matched no cell of the released notebook and was removed")
    for index, cell in enumerate(nb.cells):
        gid = by_source.get(cell.source)
        if "nbgrader" not in cell.metadata and gid is not None and gid not in owner:
            owner[gid] = index
    for gid, index in owner.items():
        cell = nb.cells[index]
        changed = _changes(cell, released[gid], gid)
        if not changed:
            continue
        cell_type, meta, _ = released[gid]
        _set_type(cell, cell_type)
        cell.metadata["nbgrader"] = copy.deepcopy(meta)
        text = f"the nbgrader metadata of cell '{gid}' was changed in the submission ({changed}) and was restored"
        if meta.get("grade") and not meta.get("solution") and cell_type == "code":
            cell.metadata[KEY] = {"metadata_changed": changed}
            text += "; this test cell scores 0"
        notes.append(text)
    return notes


def _matches(cell, released):
    cell_type, meta, _ = released
    return cell.cell_type == cell_type and cell.metadata.get("nbgrader") == meta


def _changes(cell, released, gid):
    """What differs between `cell` and its released version, as a short text ("" if nothing)."""
    cell_type, meta, _ = released
    found = cell.metadata.get("nbgrader")
    if not isinstance(found, dict):
        return "nbgrader metadata removed"
    changes = []
    if cell.cell_type != cell_type:
        changes.append(f"cell type {cell.cell_type} instead of {cell_type}")
    for key in sorted(set(meta) | set(found), key=str):
        if key not in found and key in _FILLED_IN:
            continue  # restored, not counted: a notebook written from the instructor's source has none
        if key not in found:
            changes.append(f"{key} removed")
        elif key not in meta:
            changes.append(f"{str(key)[:40]!r} added")
        elif found[key] != meta[key] or isinstance(found[key], bool) != isinstance(meta[key], bool):
            shown = found[key] if isinstance(found[key], (bool, int, float)) else repr(str(found[key])[:40])
            changes.append(f"{key} {shown} instead of {meta[key]}")
    return ", ".join(changes)


def _set_type(cell, cell_type):
    """Make `cell` a cell of `cell_type` (its outputs are cleared by nbgrader's ClearOutput anyway)."""
    if cell.cell_type == cell_type:
        return
    cell.cell_type = cell_type
    cell.pop("attachments", None)
    if cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


class ScoreTamperedCells(NbGraderPreprocessor):
    """After the execute step: a test cell whose metadata was tampered with fails, saying why."""

    def preprocess_cell(self, cell, resources, index):
        changed = cell.metadata.get(KEY, {}).get("metadata_changed") if cell.cell_type == "code" else None
        if changed:
            text = (
                f"the nbgrader metadata of this test cell was changed in the submission ({changed}); "
                "the cell scores 0. Submit the notebook with its cells' metadata as released."
            )
            cell.outputs = [new_output("error", ename=METADATA_CHANGED, evalue=text, traceback=[f"{METADATA_CHANGED}: {text}"])]
        return cell, resources


def tamper_notes(nb):
    """The notes `RestoreCellMetadata` left in an autograded notebook, for the grade's report."""
    notes = nb.metadata.get(KEY, {}).get("metadata_changed", []) if isinstance(nb.metadata.get(KEY), dict) else []
    return [str(note) for note in notes if isinstance(note, str)]
