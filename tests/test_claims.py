"""The notebooks check their own claims, and the claims hold beyond the seed their outputs were stored with.

nn273/claims.py: every random draw of a notebook derives from NN273_SEED (or the notebook's
default), and a comparative sentence is checked by `claim(...)` in a visible cell. Here:
- `claim` and `notebook_seed` behave as documented, and `autograder.claims` reads verdicts from
  a notebook's outputs;
- no solution notebook seeds anything with a number of its own: a literal seed would not change
  with NN273_SEED, and a claim resting on it would be checked under one seed only;
- each solution notebook is replayed under one other seed (autograder.claims.seed_for, in turn),
  in the background from the start of the session (conftest.py, `claims_replayed`), and every claim
  holds and no cell fails. `python -m autograder claims` runs all of autograder.claims.SEEDS.
"""

import ast
import re

import nbformat
import numpy as np
import pytest

from autograder.claims import SEEDS, Claim, _verdicts, claim_cells, seed_for
from autograder.course import COURSE
from nn273.claims import ClaimFailed, claim, notebook_seed

ASSIGNMENTS = COURSE.available()


def test_claim_prints_the_sentence_and_its_numbers(capsys):
    claim(np.float64(0.1) < 0.3, "A beats B", a=0.1234, b=3e-7, n=5)
    assert capsys.readouterr().out == "claim holds: A beats B (a 0.12, b 3e-07, n 5)\n"


def test_a_claim_that_does_not_hold_raises_with_its_numbers():
    with pytest.raises(ClaimFailed, match=r"claim does not hold: A beats B \(a 0.5, b 0.25\)"):
        claim(0.5 < 0.25, "A beats B", a=0.5, b=0.25)


@pytest.mark.parametrize("holds", [np.array([True, False]), 1, "yes", None])
def test_a_claim_takes_a_comparison_not_something_truthy(holds):
    with pytest.raises(TypeError, match="comparison"):
        claim(holds, "A beats B")


def test_the_seed_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("NN273_SEED", raising=False)
    assert notebook_seed() == 273 and notebook_seed(default=5) == 5
    monkeypatch.setenv("NN273_SEED", "12")
    assert notebook_seed() == 12
    monkeypatch.setenv("NN273_SEED", "twelve")
    with pytest.raises(ValueError, match="whole number, got 'twelve'"):
        notebook_seed()


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, outputs=outputs) for source, outputs in cells]
    return nb


def _stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _error(name, value):
    return nbformat.v4.new_output("error", ename=name, evalue=value, traceback=[])


def test_verdicts_are_read_from_the_outputs():
    nb = _notebook(
        ("x = 1", []),
        ('claim(a < b, "A beats B", a=a, b=b)', [_stream("claim holds: A beats B (a 1, b 2)\n")]),
        ('claim(c < d, "C beats D")', [_error("ClaimFailed", "claim does not hold: C beats D")]),
        ('1/0\nclaim(e < f, "E beats F")', [_error("ZeroDivisionError", "division by zero")]),
    )
    assert claim_cells(nb) == [Claim(1, "A beats B"), Claim(2, "C beats D"), Claim(3, "E beats F")]
    replay = _verdicts("00_toy", 5, nb, 1.0)
    assert replay.held == [Claim(1, "A beats B")]
    assert [c for c, _ in replay.failed] == [Claim(2, "C beats D")]
    assert replay.not_reached == [Claim(3, "E beats F")]
    assert replay.errors == [(3, "ZeroDivisionError: division by zero")]
    assert not replay.passed
    assert "cell 2: claim does not hold: C beats D" in replay.summary()


def test_every_notebook_is_replayed_under_another_seed_in_turn():
    used = {seed_for(i) for i in range(len(ASSIGNMENTS))}
    assert SEEDS[0] == 273 and SEEDS[0] not in used and len(used) >= min(4, len(ASSIGNMENTS))


# A number where a seed goes: np.random.default_rng(0), torch.manual_seed(1), seed=2,
# Generator().manual_seed(3), np.random.seed(4), RandomState(5)
LITERAL_SEED = re.compile(r"(default_rng|manual_seed|random\.seed|RandomState)\(\s*\d|\bseed\s*=\s*\d")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_draw_derives_from_the_notebook_seed(assignment):
    nb = nbformat.read(COURSE.solution_path(assignment), as_version=4)
    literal = [
        f"cell {i}: {line.strip()}"
        for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
        for line in cell.source.splitlines() if LITERAL_SEED.search(line.split("#")[0])
    ]
    assert not literal, (
        f"{assignment} seeds with a number of its own, which NN273_SEED cannot change: derive it from "
        f"SEED = notebook_seed() (e.g. SEED + 1):\n" + "\n".join(literal)
    )
    setup = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "notebook_seed(" in setup, f"{assignment} never reads its seed: SEED = notebook_seed()"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_notebook_checks_a_claim(assignment):
    nb = nbformat.read(COURSE.solution_path(assignment), as_version=4)
    assert claim_cells(nb), f"{assignment} has no claim(...) cell: every comparative sentence is checked"
    for c in claim_cells(nb):
        ast.parse(nb.cells[c.cell].source)  # a claim cell is plain Python


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_claims_hold_under_another_seed(assignment, claims_replayed):
    replay = claims_replayed(assignment)
    assert replay.held, f"no claim was checked: {replay.summary()}"
    assert replay.passed, replay.summary()
