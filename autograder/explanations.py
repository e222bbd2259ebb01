"""Explanations: cells of a solution notebook that explain, or give away, the answer to a graded
question. Each is marked in its metadata `{"nn273": {"explains": "<answer grade_id>"}}`; it stays in
the solution (with its stored outputs, replayed by nbval) and never reaches students before grading:
`DropExplanations`, the first step of nbgrader's generate_assignment in the course's configuration
(config.py), leaves it out of the released notebook, and the course's feedback page shows it after
grading, beside the student's own answer (feedback.py)."""

import nbformat

from nbgrader.preprocessors import NbGraderPreprocessor

__all__ = ["DropExplanations", "explained", "explanations"]

KEY = "nn273"


def explained(cell):
    """The grade_id of the question a cell explains, or None."""
    meta = cell.get("metadata", {}).get(KEY)
    value = meta.get("explains") if isinstance(meta, dict) else None
    return value if isinstance(value, str) and value else None


class DropExplanations(NbGraderPreprocessor):
    """generate_assignment: the released notebook has no explanation cell."""

    def preprocess(self, nb, resources):
        nb.cells = [cell for cell in nb.cells if explained(cell) is None]
        return nb, resources


def explanations(solution):
    """{question's grade_id: [text, ...]} of the solution notebook at `solution` (a path or a
    notebook): a markdown cell's source; a code cell's source and the text it printed."""
    nb = solution if isinstance(solution, nbformat.NotebookNode) else nbformat.read(solution, as_version=4)
    found = {}
    for cell in nb.cells:
        question = explained(cell)
        if question is None:
            continue
        if cell.cell_type == "code":
            printed = "".join(
                o.get("text", "") if o.get("output_type") == "stream" else o.get("data", {}).get("text/plain", "")
                for o in cell.get("outputs", [])
                if o.get("output_type") in ("stream", "execute_result")
            )
            text = cell.source + ("\n\n" + printed if printed.strip() else "")
        else:
            text = cell.source
        found.setdefault(question, []).append(text.strip("\n"))
    return found
