"""The proof that grading cannot be forged: a batch of hostile 01_linear submissions (tests/hostile.py),
graded in one `grade_submissions` call with default options, and what each earned.

No case may earn a point its answers did not earn; honest answers keep theirs (the honest neighbour
full marks); no submission reads the course's secrets or other students' work, writes outside its folder,
reaches the network or leaves a process behind; a flood of output neither breaks grading nor bloats
the autograded notebook. A second run with the same seed gives the same scores.

`pytest tests/test_tamper.py -s` ends with a table (case, honest points, score, error) and the
figures: cases tried, points wrongly earned, files reachable, files written outside, connections,
processes left.
"""

import os
import re
import resource
import signal
import site
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from autograder.grade import grade_submissions
from hostile import (
    ASSIGNMENT,
    CASES,
    FULL_MARKS,
    ROOT,
    Context,
    launcher_marker,
    leftover_processes,
    outside_file,
    solution,
    submit,
    write_targets,
)

pytestmark = pytest.mark.slow

# A walk of / leaves out the system's folders (no course files there) and this machine's tooling, which
# is not the course's to read; hostile.py adds the Python environment's prefixes, and the walks skip
# hidden folders.
SYSTEM = ["/proc", "/sys", "/dev", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
          "/boot", "/etc", "/var", "/run", "/snap", "/farm", "/old_root"]

# Graded twice with the same seed: the honest neighbour and cheats that only compute.
AGAIN = ["honest", "patch_numpy", "patch_harness", "call_reference", "spoof_eq"]


def walk_skip(base):
    """SYSTEM, and every /tmp entry but the one holding this test's own temporary folders."""
    ours = Path(base).resolve().relative_to("/tmp").parts[0] if str(base).startswith("/tmp/") else None
    others = [str(p) for p in Path("/tmp").iterdir() if p.name != ours] if Path("/tmp").is_dir() else []
    return tuple(SYSTEM + others)


class Listener:
    """A TCP listener on 127.0.0.1 that counts who connects."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, addr = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections.append(addr)
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def _grades(report):
    """{student: {assignment: NotebookGrade}}: the report, or its .grades if it carries more."""
    return getattr(report, "grades", report)


def run_seed(report):
    """The run's secret seed if the grader reports one (on the report, or on each grade), else None."""
    seed = getattr(report, "seed", None)
    if seed is None and isinstance(report, dict):
        seed = report.get("seed") if "seed" in report and not isinstance(report["seed"], dict) else None
    if seed is None:
        for by_assignment in _grades(report).values():
            for grade in by_assignment.values():
                seed = seed if seed is not None else getattr(grade, "seed", None)
    return seed


def _scores(report):
    return {
        student: (g.score, tuple(sorted((k, v["score"]) for k, v in g.cells.items())))
        for student, by_assignment in _grades(report).items()
        for g in [by_assignment[ASSIGNMENT]]
    }


def _autograded(ctx, student):
    return ctx.workdir / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def _all_text(path):
    """Every output and every cell's source of a notebook, as one text ('' if there is no notebook)."""
    return path.read_text(errors="replace") if path.is_file() else ""


def _live_outputs(path):
    """(cell, mime type) of every output that a browser would run or render as HTML."""
    if not path.is_file():
        return []
    nb = nbformat.read(path, as_version=4)
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            for mime in out.get("data", {}):
                if mime not in ("text/plain", "image/png", "image/jpeg"):
                    found.append((index, mime))
        if cell.cell_type in ("markdown", "raw") and re.search(r"<script|javascript:|onerror=", cell.source, re.I):
            found.append((index, cell.cell_type))
    return found


class PeakMemory:
    """The largest resident memory (VmHWM) of this process and of every grading process it started
    (grade's workers), sampled every 0.2 s while grading runs; kernels are not counted (they are the
    sandbox's, capped apart)."""

    def __init__(self):
        self.peak_mb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def _sample(self):
        me = os.getpid()
        while not self._stop.wait(0.2):
            for pid in [me, *_children(me)]:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
                if found:
                    self.peak_mb = max(self.peak_mb, int(found.group(1)) // 1024)


def _children(pid):
    """The grading processes among pid's children: Python processes (grade's workers), not kernels."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in task.read_text().split()]
        except OSError:
            pass
    workers = []
    for child in found:
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"multiprocessing" in b" ".join(argv) or b"spawn_main" in b" ".join(argv):
            workers.append(child)
    return workers


def _stream_text(path):
    """All stream output of a notebook, as one text ('' if there is no such notebook)."""
    if not path.is_file():
        return ""
    nb = nbformat.read(path, as_version=4)
    return "".join(
        out.get("text", "") for c in nb.cells if c.cell_type == "code" for out in c.get("outputs", [])
        if out.get("output_type") == "stream"
    )


def _secret_snippets():
    """Lines that only the reference answers and the hidden tests hold."""
    snippets = set()
    for cell in solution().cells:
        if "### BEGIN SOLUTION" in cell.source:
            body = cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
            snippets |= {line.strip() for line in body.splitlines() if len(line.strip()) >= 24}
    hidden = (ROOT / "autograder" / "hidden" / "linear.py").read_text()
    snippets |= {
        line.strip() for line in hidden.splitlines() if line.startswith(("def _", "def test_")) or "H.hint(" in line
    }
    return snippets


@dataclass
class Batch:
    ctx: Context
    reports: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    seeds: list = field(default_factory=list)
    files_read: set = field(default_factory=set)  # READ lines of read_files (nbgrader keeps 1000 lines)
    files_counted: int = 0  # the count read_files printed first, in case its READ lines were cut
    leaks: set = field(default_factory=set)  # secret lines that showed up in read_files' output
    scan_done: list = field(default_factory=list)  # per run: did read_files' scan finish?
    written: set = field(default_factory=set)  # host paths found written by write_files
    writable: set = field(default_factory=set)  # course files write_files could open for writing
    huge_sizes: list = field(default_factory=list)  # bytes of huge_output's autograded notebook, per run
    flood_sizes: dict = field(default_factory=dict)  # bytes of the flooding cases' autograded notebooks
    links_text: str = ""  # what the links case's cell printed of the files beside its notebook
    live_outputs: list = field(default_factory=list)  # html_js's outputs and cells a browser would run
    launcher_ran: str | None = None  # what the shipped launcher wrote on the host, if it ever ran
    grader_peak_mb: list = field(default_factory=list)  # the grading processes' peak memory, per run
    peak_rss_mb: list = field(default_factory=list)  # the grader's peak memory, after each run
    connections: list = field(default_factory=list)
    processes: list = field(default_factory=list)

    @property
    def first(self):
        return _grades(self.reports[0])

    def grade(self, name):
        return self.first[name][ASSIGNMENT]

    def collect(self, secrets):
        """Evidence of the run just graded, before the next run empties the workdir."""
        ctx = self.ctx
        text = _stream_text(_autograded(ctx, "read_files"))
        self.files_read |= {line[5:] for line in text.splitlines() if line.startswith("READ ")}
        done = re.search(r"^SCAN DONE: (\d+) files read", text, re.M)
        self.scan_done.append(done is not None)
        self.files_counted = max(self.files_counted, int(done.group(1)) if done else 0)
        self.leaks |= {s for s in secrets if s in text}
        self.written |= _written(ctx)
        text = _stream_text(_autograded(ctx, "write_files"))
        self.writable |= {line[9:] for line in text.splitlines() if line.startswith("WRITABLE ")}
        huge = _autograded(ctx, "huge_output")
        self.huge_sizes.append(huge.stat().st_size if huge.is_file() else None)
        for name in ("iopub_flood", "metadata_flood", "node_bomb"):
            path = _autograded(ctx, name)
            self.flood_sizes[name] = path.stat().st_size if path.is_file() else None
        self.links_text = _stream_text(_autograded(ctx, "links"))  # what its cell read and printed
        self.live_outputs = _live_outputs(_autograded(ctx, "html_js"))
        marker = launcher_marker(ctx)
        self.launcher_ran = marker.read_text() if marker.exists() else None
        self.peak_rss_mb.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


def _pth_files(ctx):
    return [Path(p) / f"nn273_pwned_{ctx.token}.pth" for p in site.getsitepackages()]


def _written(ctx):
    """Host paths that write_files created or changed."""
    targets, mark = write_targets(ctx), f"nn273-pwned-{ctx.token}".encode()
    found = {str(p) for p in targets["new"] + _pth_files(ctx) if p.exists()}
    found |= {str(p) for p in targets["overwrite"] if p.is_file() and mark in p.read_bytes()}
    gradebook = targets["gradebook"]
    if gradebook.is_file() and f"pwned_{ctx.token}".encode() in gradebook.read_bytes():
        found.add(str(gradebook))
    return found


def _clean_up(ctx):
    """Remove what write_files left outside the workdir, and end the processes leave_process started."""
    mark = f"nn273-pwned-{ctx.token}".encode()
    for path in write_targets(ctx)["new"] + _pth_files(ctx):
        if path.is_file() and mark in path.read_bytes():
            path.unlink()
    for pid, _ in leftover_processes():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("tamper")
    listener = Listener()
    ctx = Context(
        root=ROOT, workdir=base / "grading", submissions=base / "submissions", port=listener.port,
        walk_skip=walk_skip(base),
    )
    for case in CASES:
        submit(ctx.submissions, case.name, case.build(ctx))
    result, secrets = Batch(ctx), _secret_snippets()
    try:
        # Default options but the workdir: the per-cell time limit stays at its default (30 s), so
        # endless_loop costs 30 s per run.
        options, folder = {}, ctx.submissions
        for _ in range(2):
            start = time.monotonic()
            with PeakMemory() as memory:
                report = grade_submissions(folder, workdir=ctx.workdir, **options)
            result.seconds.append(time.monotonic() - start)
            result.grader_peak_mb.append(memory.peak_mb)
            result.reports.append(report)
            result.seeds.append(run_seed(report))
            if len(result.reports) == 1:
                result.collect(secrets)
            # The second run reproduces the first with its seed, on the cases that only compute (the
            # others' side effects are checked once; regrading them would only cost time).
            options = {"seed": result.seeds[0]}
            folder = base / "again"
            for case in CASES:
                if case.name in AGAIN:
                    submit(folder, case.name, case.build(ctx))
        time.sleep(1)  # let a daemon finish forking before looking for it
        result.connections = list(listener.connections)
        result.processes = leftover_processes()
        yield result
    finally:
        listener.close()
        _clean_up(ctx)


# ------------------------------------------------------------------------------ the tests
def test_no_case_earns_points_it_did_not_earn(batch):
    earned = {}
    for c in CASES:
        score, deserved = batch.grade(c.name).score, FULL_MARKS if c.honest_points is None else c.honest_points
        if score is not None and score > deserved:
            earned[c.name] = (score, deserved)
    assert earned == {}, f"(score, honest points) of cases that earned what they did not: {earned}"


def test_honest_answers_keep_their_points(batch):
    kept = {c.name: batch.grade(c.name).score for c in CASES if c.honest_points}
    assert kept == {c.name: c.honest_points for c in CASES if c.honest_points}


def test_honest_neighbour_gets_full_marks(batch):
    honest = batch.grade("honest")
    assert (honest.score, honest.max_score, honest.error) == (FULL_MARKS, FULL_MARKS, None)


def test_same_seed_same_scores(batch):
    first, second = (_scores(r) for r in batch.reports)
    assert batch.seeds[0] is not None and batch.seeds[0] == batch.seeds[1]
    assert sorted(second) == sorted(AGAIN)
    differ = {s: (first[s][0], second[s][0]) for s in second if first[s] != second[s]}
    assert differ == {}, f"runs with the same seed {batch.seeds} differ: {differ}"


def test_no_file_readable(batch):
    assert all(batch.scan_done), "read_files' scan did not finish, so its zero would prove nothing"
    assert sorted(batch.files_read) == [] and batch.files_counted == 0 and sorted(batch.leaks) == []


def test_nothing_written_outside(batch):
    assert sorted(batch.written) == [] and sorted(batch.writable) == []


def test_no_connection(batch):
    assert batch.connections == []


def test_no_process_left(batch):
    assert batch.processes == []


def test_huge_output_is_handled(batch):
    huge = batch.grade("huge_output")
    assert huge.score == FULL_MARKS
    assert all(size is not None and size < 5 * 2**20 for size in batch.huge_sizes), batch.huge_sizes


def test_runaway_cells_are_named(batch):
    assert "ran longer than" in (batch.grade("endless_loop").error or "")
    assert "ran out of memory" in (batch.grade("memory_bomb").error or "")
    os_exit = batch.grade("os_exit")
    assert os_exit.score is not None and "the kernel died in cell #" in (os_exit.error or ""), os_exit.error


def test_nothing_the_submission_ships_runs_outside_the_sandbox(batch):
    assert batch.launcher_ran is None, f"the shipped launcher ran on the host: {batch.launcher_ran}"
    shipped = batch.grade("ship_launcher")
    assert shipped.score == 0.0
    left = {entry["path"].split("/")[0] for entry in shipped.not_copied}
    assert {"autograder", "kernelside", "sitecustomize.py", "usercustomize.py", "numpy.py", "nn273.pth"} <= left, left


def test_links_and_special_files_are_refused_unread(batch):
    links = batch.grade("links")
    assert links.score == FULL_MARKS
    refused = {entry["path"] for entry in links.refused}
    assert {"data.json", "helpers.py", "grades.db", "zeros.npy", "folder", "copy.csv", "pipe.csv", "socket.txt"} <= refused
    leaked = [s for s in _secret_snippets() if s in batch.links_text]
    assert leaked == [] and batch.ctx.token not in batch.links_text.replace(f"launcher-ran-{batch.ctx.token}", "")


def test_reports_say_only_what_the_grader_saw(batch):
    forged = batch.grade("forged_notes")
    assert forged.score == FULL_MARKS
    assert "ran longer than" not in (forged.error or "") and "out of memory" not in (forged.error or ""), forged.error


def test_student_html_and_javascript_are_inert(batch):
    assert batch.grade("html_js").score == FULL_MARKS
    assert batch.live_outputs == []


def test_tampered_metadata_is_graded_with_a_note(batch):
    tampered = batch.grade("tampered_metadata")
    assert tampered.score == 0.0, tampered.error
    assert "metadata" in (tampered.error or ""), tampered.error


def test_floods_end_and_stay_small(batch):
    assert batch.grade("iopub_flood").score is not None
    assert batch.grade("metadata_flood").score == FULL_MARKS
    assert batch.grade("node_bomb").score == 0.0
    assert all(size is not None and size < 5 * 2**20 for size in batch.flood_sizes.values()), batch.flood_sizes
    assert max(batch.grader_peak_mb) < 1024, batch.grader_peak_mb


def test_a_sandbox_is_capped_as_a_whole(batch):
    forked, bomb = batch.grade("forked_memory"), batch.grade("fork_bomb")
    assert forked.score == FULL_MARKS and "held more than" in (forked.error or ""), forked.error
    assert bomb.score == FULL_MARKS and "processes" in (bomb.error or ""), bomb.error


def test_a_cell_that_ignores_interrupts_or_kills_costs_only_itself(batch):
    stubborn = batch.grade("ignore_interrupt")
    assert stubborn.score == FULL_MARKS and stubborn.error, stubborn.error
    slow = batch.grade("slow_deaths")
    assert slow.score == FULL_MARKS and "died" in (slow.error or ""), slow.error


def test_summary(batch, capsys):
    """Not a check: the table and the figures (`pytest tests/test_tamper.py -s` shows them)."""
    rows = [("case", "kind", "honest", "score", "error")]
    wrongly = 0.0
    for case in CASES:
        grade = batch.grade(case.name)
        if grade.score is not None and case.honest_points is not None:
            wrongly += max(0.0, grade.score - case.honest_points)
        honest = "--" if case.honest_points is None else f"{case.honest_points:g}"
        score = "--" if grade.score is None else f"{grade.score:g}"
        error = (grade.error or "").splitlines()[0][:110] if grade.error else ""
        rows.append((case.name, case.kind, honest, score, error))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4] for r in rows]
    reachable = max(len(batch.files_read), batch.files_counted)
    sizes = ", ".join("--" if s is None else f"{s / 2**20:.1f} MB" for s in batch.huge_sizes)
    lines += [
        "",
        f"cases tried: {len(CASES)}",
        f"points wrongly earned: {wrongly:g}",
        f"files reachable: {reachable} (secret lines leaked: {len(batch.leaks)})",
        f"files written outside: {len(batch.written)} (course files writable: {len(batch.writable)})",
        f"connections: {len(batch.connections)}",
        f"processes left: {len(batch.processes)}",
        f"huge_output's autograded notebook: {sizes}; peak memory of the grade process (the one writer): {batch.peak_rss_mb} MB",
        f"flooding cases' autograded notebooks: "
        + ", ".join(f"{k} {'--' if v is None else f'{v / 2**20:.2f} MB'}" for k, v in batch.flood_sizes.items()),
        f"peak memory of the grading processes (grade and its workers), per run: {batch.grader_peak_mb} MB",
        f"seeds: {batch.seeds}; grading time per run: {', '.join(f'{s:.0f} s' for s in batch.seconds)}",
    ]
    with capsys.disabled():
        print("\n" + "\n".join(lines), flush=True)
