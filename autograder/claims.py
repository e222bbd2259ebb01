"""Replay the solution notebooks under other seeds and report their claims: `python -m autograder claims`.

A notebook checks its own comparative sentences with `nn273.claims.claim` in visible cells, and
draws all its randomness from one seed, NN273_SEED (nn273/claims.py). A claim that holds only under
the seed whose outputs are stored is not a finding. Here each solution notebook runs top to bottom,
in a new kernel, with NN273_SEED set to each seed in turn; every claim cell's verdict is read from
its outputs, and any other error says the notebook does not run under that seed at all. Nothing is
written back: the stored outputs stay those of the notebook's own seed.

tests/test_claims.py replays each notebook under one other seed in `pytest`; this command runs
all of SEEDS (or those given) and prints the table.
"""

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import nbformat

from .course import COURSE, ROOT

__all__ = ["SEEDS", "Claim", "Replay", "claim_cells", "replay_claims", "seed_for"]

SEEDS = (273, 1, 2, 3, 4)  # 273: the seed of every notebook's stored outputs
HOLDS, FAILS = "claim holds: ", "claim does not hold: "


@dataclass(frozen=True)
class Claim:
    cell: int  # index among the notebook's cells
    statement: str  # the sentence, as written in the call (a literal string), else the call's source


@dataclass
class Replay:
    assignment: str
    seed: int
    held: list = field(default_factory=list)  # Claims
    failed: list = field(default_factory=list)  # (Claim, the message with its numbers)
    not_reached: list = field(default_factory=list)  # Claims of cells that stopped before them
    errors: list = field(default_factory=list)  # (cell, "Name: message") of other errors
    seconds: float = 0.0

    @property
    def passed(self):
        return not (self.failed or self.not_reached or self.errors)

    def summary(self):
        head = f"{self.assignment} under NN273_SEED={self.seed}: "
        if self.passed:
            return head + f"{len(self.held)} claims hold ({self.seconds:.0f} s)"
        lines = [head + f"{len(self.held)} hold, {len(self.failed)} fail, {len(self.errors)} errors"]
        lines += [f"  cell {c.cell}: {message}" for c, message in self.failed]
        lines += [f"  cell {c.cell}: not reached: {c.statement}" for c in self.not_reached]
        lines += [f"  cell {cell}: {error}" for cell, error in self.errors]
        return "\n".join(lines)


def claim_cells(nb):
    """[Claim] of every `claim(...)` call in the notebook's code cells, in order."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "claim(" not in cell.source:
            continue
        try:
            tree = ast.parse(_python_only(cell.source))
        except SyntaxError:
            continue
        calls = [
            node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "claim"
        ]
        for call in sorted(calls, key=lambda node: (node.lineno, node.col_offset)):
            statement = call.args[1] if len(call.args) > 1 else next(
                (k.value for k in call.keywords if k.arg == "statement"), None
            )
            if isinstance(statement, ast.Constant) and isinstance(statement.value, str):
                text = statement.value
            else:
                text = ast.get_source_segment(_python_only(cell.source), call) or "claim(...)"
            found.append(Claim(index, text))
    return found


def _python_only(source):
    # IPython's magics and shell lines are not Python
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def seed_for(index):
    """The other seed `pytest` replays the index-th notebook under: the others of SEEDS in turn."""
    others = [s for s in SEEDS if s != SEEDS[0]]
    return others[index % len(others)]


def replay_claims(assignment, seed, timeout=900):
    """Run solutions/<id>/<id>.ipynb under NN273_SEED=seed in a new process; its Replay."""
    command = [sys.executable, "-m", "autograder.claims", "--one", assignment, "--seed", str(seed)]
    env = {**os.environ, "NN273_SEED": str(seed), "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    try:
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Replay(assignment, seed, errors=[(None, f"did not finish in {timeout} s")], seconds=timeout)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        return Replay(assignment, seed, errors=[(None, (run.stderr or run.stdout).strip()[-3000:])], seconds=seconds)
    return _verdicts(assignment, seed, json.loads(run.stdout), seconds)


def _execute(assignment, timeout=600):
    """The solution notebook executed in this process's environment, errors kept in its outputs."""
    from nbclient import NotebookClient

    path = COURSE.solution_path(assignment)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,  # a failed claim must not hide the ones after it
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        coalesce_streams=True,
    )
    client.execute()
    return nb


def _verdicts(assignment, seed, nb, seconds):
    nb = nbformat.from_dict(nb)
    replay = Replay(assignment, seed, seconds=seconds)
    by_cell = {}
    for claim in claim_cells(nb):
        by_cell.setdefault(claim.cell, []).append(claim)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        held = [line[len(HOLDS):] for o in cell.outputs if o.output_type == "stream"
                for line in o.text.splitlines() if line.startswith(HOLDS)]
        errors = [o for o in cell.outputs if o.output_type == "error"]
        claims = by_cell.get(index, [])
        for claim in claims:
            if any(line == claim.statement or line.startswith(claim.statement + " (") for line in held):
                replay.held.append(claim)
            elif any(e.ename == "ClaimFailed" and claim.statement in e.evalue for e in errors):
                replay.failed.append((claim, next(e.evalue for e in errors if claim.statement in e.evalue)))
            else:
                replay.not_reached.append(claim)
        for e in errors:
            if e.ename != "ClaimFailed":
                replay.errors.append((index, f"{e.ename}: {e.evalue}"[:500]))
            elif not claims:
                replay.failed.append((Claim(index, e.evalue), e.evalue))
    return replay


def replay_all(assignments, seeds, jobs=2):
    """{(assignment, seed): Replay}, `jobs` notebooks at a time."""
    work = [(a, s) for a in assignments for s in seeds]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {key: pool.submit(replay_claims, *key) for key in work}
        return {key: future.result() for key, future in futures.items()}


def format_table(assignments, seeds, results):
    """One row per claim, one column per seed: ok, FAILS, or - where the cell was not reached."""
    lines = []
    for assignment in assignments:
        claims = claim_cells(nbformat.read(COURSE.solution_path(assignment), as_version=4))
        lines.append(f"\n{assignment}" + "".join(f"{'seed ' + str(s):>10}" for s in seeds))
        for claim in claims:
            row = []
            for seed in seeds:
                r = results[assignment, seed]
                row.append("ok" if claim in r.held else "FAILS" if any(c == claim for c, _ in r.failed) else "-")
            lines.append(f"  [{claim.cell:>2}] {claim.statement[:70]:<70}" + "".join(f"{v:>10}" for v in row))
        if not claims:
            lines.append("  (no claim cells)")
        for seed in seeds:
            r = results[assignment, seed]
            if r.errors:
                lines += [f"  seed {seed}: error in cell {cell}: {error}" for cell, error in r.errors]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder claims", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", metavar="ID", help="default: every solution notebook")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="comma-separated (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run side by side (default %(default)s)")
    parser.add_argument("--one", metavar="ID", help=argparse.SUPPRESS)  # the child: run one, print its JSON
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        nb = _execute(args.one)
        sys.stdout.write(json.dumps(nb))
        return 0
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--seeds takes whole numbers separated by commas, got {args.seeds!r}")
    assignments = COURSE.check_assignments(args.assignments)
    start = time.perf_counter()
    results = replay_all(assignments, seeds, jobs=args.jobs)
    print(format_table(assignments, seeds, results))
    failures = [r for r in results.values() if not r.passed]
    for r in failures:
        print("\n" + r.summary())
    held = sum(len(r.held) for r in results.values())
    total = held + sum(len(r.failed) + len(r.not_reached) for r in results.values())
    print(f"\n{held} of {total} claim checks held over {len(seeds)} seeds and {len(assignments)} notebooks "
          f"({time.perf_counter() - start:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
