"""`JudgedExecute`: nbgrader's Execute step, with the student's kernel computing and the grader judging.

It takes the place of nbgrader's `Execute` in `Autograde.autograde_preprocessors` (see config.py),
before `SaveAutoGrades`, which then scores each test cell from the outputs written here:

- every cell that is not a test cell (the student's answers and the story) runs in the sandboxed
  grading kernel of its assignment, as nbgrader would run it;
- a test cell is never run in the kernel: its source is taken from the instructor's notebook
  (solutions/, not the submission) and executed in this process (`judge.judge_source`), with the
  notebook's graded functions as proxies into the kernel; its outputs are what the test printed here
  and, if it failed, the error, so a submission cannot forge them;
- after every cell, every process the submission started in the sandbox is ended;
- what the kernel prints is capped per cell, so a flood of output cannot exhaust the grader.

Time: each cell has its limit (`timeout`), and each notebook a budget for all its runs
(`notebook_budget`, counted from its first run's start, which grade.py keeps in RUNS). A cell's
limit is never longer than what is left of the budget; once the budget is gone the kernel is ended
and the cells not yet run get an error output that says so (their tests score 0). A cell still
running `interrupt_grace` seconds after the interrupt at its limit has its kernel ended: a death.

A dead kernel (os._exit, a crash, killed for memory, or ended for ignoring the interrupt) costs a
rerun only when its cell matters (`_matters`: a graded cell, or one that defines a graded function)
and grade.py allows one (RUNS' "last"): DeadKernelError, as nbclient raises it, with the cell and
why (the kernel process's exit status) in DIED_IN; run again with that cell in RUNS' "skip", the
notebook is executed without sending it to the kernel: it gets an error output that says so, and so
its tests score zero while every other cell runs and scores (grade.py reruns). Any other death ends
the run there: that cell and every later one get an error output, and the notebook is graded.

What went wrong is told from what the grader saw itself (OBSERVED: its timers, the deaths, memory
read from outside the kernel), never from the names of errors in the notebook, which a submission
can raise as it likes.

Flags: a function that a hidden test asks to be written without a library (forbid=) is looked for in
the submitted source too; both that and what the kernel saw it call are kept in `self.flags`, with the
evidence, for the grade report.
"""

import ast
import hashlib
import json
import math
import os
import queue
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from traitlets import Bool, Float, Integer, Unicode

from nbgrader.preprocessors import Execute, NbGraderPreprocessor

from ..course import ANSWER_PREFIX, DEFAULT_NOTEBOOK_BUDGET
from ..sandbox.kernel_manager import BlockingSandboxKernelManager, SandboxKernelManager, limit_verdict
from ..sandbox.kernelspec import NUMPY_SUFFIX, grader_kernel
from .judge import CappedAsyncKernelClient, CappedKernelClient, KernelLink, Proxy, _timeout_output, judge_source
from .numpy_kernel import NumpyKernel

__all__ = [
    "DIED_IN",
    "EXECUTED",
    "FLAGS",
    "OBSERVED",
    "OUTPUT_LOST",
    "RUNS",
    "JudgedExecute",
    "ReplayExecute",
    "TrustedNotebook",
    "cells_match",
    "defined_names",
    "grading_kernel_manager",
    "json_size",
    "outputs_digest",
    "why_it_died",
]

# What a cell whose end was lost shows (`_output_lost`).
OUTPUT_LOST = (
    "the rest of this cell's output never reached the grader (a message larger than the grader takes, "
    "or output still arriving long after the cell ended)"
)
MAX_KERNEL_OUTPUT = 1_000_000  # characters of output kept per kernel cell
INTERRUPT_GRACE = 5.0  # seconds a cell has to stop after the interrupt at its limit
MEMORY_NEAR_CAP = 0.9  # a peak address space past this share of the kernel's cap: it ran out

# (student, assignment, notebook) -> [(grade_id, function, evidence)], for the grade report, and ->
# the cell in which the kernel died when a rerun is to follow, {"index", "cell" (its name), "why"};
# nbgrader makes the preprocessor, so this is where its findings wait for `grade`.
FLAGS = {}
DIED_IN = {}
# (student, assignment, notebook) -> how grade.py runs the notebook this time: {"skip": {cell index:
# why} (cells not sent to the kernel, since in an earlier run they killed it), "started": the
# time.monotonic() of its first run (the budget covers every run), "last": True when no rerun may
# follow}. A notebook without an entry runs once, its budget counted from now.
RUNS = {}
# (student, assignment, notebook) -> what the grader itself saw in the notebook's latest run, for the
# report: {"timeouts": [{"cell", "limit"}] (its timer stopped the cell), "memory": [{"cell",
# "evidence"}], "ended": {"cell", "why", "no_rerun"} (a death that ended the run, and why no rerun
# followed), "budget": {"cell", "seconds"} (the notebook's time ran out there)}
OBSERVED = {}
KERNEL_DIED = "KernelDied"  # the ename of the error output of a cell skipped or not run after a death
OUT_OF_TIME = "NotebookTimeBudgetExceeded"  # ... of a cell not run once the notebook's budget was spent
# (student, assignment, notebook) -> the notebook a worker executed, for `ReplayExecute` to record
EXECUTED = {}


class TrustedNotebook:
    """What the grader takes from the instructor's notebook: the test cells, the imports, the functions.

    `load` reads a notebook once per process and keeps it: a grading run registers, with `expect`, the
    sha256 each notebook must have (the run's snapshot of solutions/, autograder/grade.py), so the tests
    it judges with are those the run began with, whatever happens to the file on disk since; a file
    whose bytes differ is refused, never used.
    """

    _expected = {}  # path -> the sha256 its bytes must have in this grading run
    _loaded = {}  # (path, sha256) -> TrustedNotebook

    def __init__(self, source):
        nb = source if isinstance(source, nbformat.NotebookNode) else nbformat.read(source, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        first = code[0].metadata.get("nbgrader", {}) if code else {"grade": True}
        # The notebook's first code cell holds its imports (docs/authoring.md); the tests run after it.
        self.imports = "" if first.get("grade") or first.get("solution") else code[0].source
        self.tests, self.functions, self.answers, self.points = {}, [], [], {}
        for cell in code:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                self.tests[meta["grade_id"]] = cell.source
                self.points[meta["grade_id"]] = float(meta.get("points", 0))
            elif meta.get("solution"):
                is_answer = meta["grade_id"].startswith(ANSWER_PREFIX)
                (self.answers if is_answer else self.functions).append(meta["grade_id"])

    @classmethod
    def expect(cls, path, digest):
        """Make `load(path)` take only a notebook whose bytes have this sha256 (hex)."""
        cls._expected[os.path.abspath(path)] = digest

    @classmethod
    def load(cls, path):
        """The notebook at `path`, read (without following a link) the first time only; ValueError if
        its bytes are not those `expect` registered."""
        from ..intake import MAX_NOTEBOOK_BYTES, read_regular

        key = os.path.abspath(path)
        expected = cls._expected.get(key)
        if (key, expected) in cls._loaded:
            return cls._loaded[(key, expected)]
        data = read_regular(key, MAX_NOTEBOOK_BYTES, single=False)
        digest = hashlib.sha256(data).hexdigest()
        if expected is not None and digest != expected:
            raise ValueError(
                f"the instructor's notebook {key} changed since the grading run began (sha256 {digest[:16]}..., "
                f"expected {expected[:16]}...): its tests are not used; grade again to take the new one"
            )
        if (key, digest) not in cls._loaded:
            cls._loaded[(key, digest)] = cls(nbformat.reads(data.decode("utf-8"), as_version=4))
        return cls._loaded[(key, digest)]


class JudgedExecute(Execute):
    """Execute a submission: its code in the sandboxed kernel, its tests here."""

    solutions = Unicode(help="folder of the instructor's notebooks, <id>/<id>.ipynb").tag(config=True)
    runtime_root = Unicode(help="folder for each kernel's connection file and sockets").tag(config=True)
    max_kernel_output = Integer(MAX_KERNEL_OUTPUT).tag(config=True)
    sandboxed = Bool(False, help="the kernel runs in a sandbox whose strays are ended after each cell").tag(config=True)
    # nbgrader stops the whole notebook (no grades at all) when a cell's output is still arriving
    # iopub_timeout seconds after the kernel replied. Its 4 s were outlasted by a 200 MB flood of
    # output on a busy machine (tests/test_tamper.py, on CI), so the wait is longer; it still ends,
    # and then the kernel is ended and the cell counts as one that killed it (`preprocess_cell`).
    iopub_timeout = Integer(20).tag(config=True)
    notebook_budget = Float(
        DEFAULT_NOTEBOOK_BUDGET,
        allow_none=True,
        help="seconds for all the runs of a notebook (grade.py's reruns too); None: no budget",
    ).tag(config=True)
    interrupt_grace = Float(
        INTERRUPT_GRACE, help="seconds a cell has to stop after the interrupt at its limit; then its kernel is ended"
    ).tag(config=True)

    flags = []  # (grade_id, function, evidence) of the notebook last executed

    def preprocess(self, nb, resources=None, km=None):
        info = resources["nbgrader"]
        key = (info["student"], info["assignment"], info["notebook"])
        self._prepare(nb, info["assignment"], info["notebook"])
        run = RUNS.get(key, {})
        self._key, self._skip, self._last = key, dict(run.get("skip", {})), run.get("last", True)
        if self.notebook_budget is not None:
            self._deadline = run.get("started", time.monotonic()) + self.notebook_budget
        OBSERVED[key] = self._observed
        try:
            if self._time_left() <= 0:  # earlier runs spent it: no kernel is started
                return self._without_kernel(nb, resources)
            return super().preprocess(nb, resources, km)
        finally:
            self._finish(key, resources)

    @contextmanager
    def session(self, nb, assignment, folder):
        """A judged kernel for `nb` outside nbgrader (for `check`): run cells with
        `preprocess_cell`, judge tests with `judge`; the kernel ends with the block. No budget, and
        a dead kernel raises DeadKernelError."""
        self._prepare(nb, assignment, assignment)
        resources = {"metadata": {"path": str(folder)}}
        NotebookClient.__init__(self, nb)  # as nbconvert's ExecutePreprocessor.preprocess does
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        try:
            with self.setup_kernel():
                yield self
        finally:
            self._finish(None, resources)

    def _prepare(self, nb, assignment, notebook):
        self.trusted = TrustedNotebook.load(Path(self.solutions) / assignment / f"{notebook}.ipynb")
        self.kernel_name = grader_kernel(assignment)
        self.flags, self._link, self._namespace, self._sizes, self._skip = [], None, None, {}, {}
        self._numpy, self._first_code = None, next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), None)
        # the run's state: its notebook (None in a `session`), whether a rerun may follow, its
        # deadline, the cells' ending once the run has ended (ename, text), what the grader saw
        self._key, self._last, self._deadline, self._ended = None, True, None, None
        self._run_started = time.monotonic()
        self._observed = {"timeouts": [], "memory": [], "cut": [], "ended": None, "budget": None}
        self._limit, self._fired = None, None  # the running cell's (seconds, set by the budget); its timer fired
        self._submitted = {
            c.metadata["nbgrader"]["grade_id"]: c.source
            for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
        }
        # One folder per kernel for its connection file and sockets, writable in its sandbox.
        self._runtime = Path(tempfile.mkdtemp(prefix="kernel-", dir=self.runtime_root or None))

    def _finish(self, key, resources):
        if self._link is not None:
            self._link.close()
            self._link = None
        if self._numpy is not None:
            self._numpy.close()
            self._numpy = None
        if key is not None:
            FLAGS[key] = list(self.flags)
        shutil.rmtree(self._runtime, ignore_errors=True)
        # The kernel is gone; nbgrader now writes into its folder, so nothing it left there may
        # lead elsewhere (a symlink named like the notebook would redirect that write).
        remove_links(resources.get("metadata", {}).get("path"))

    def create_kernel_manager(self):
        self.km = grading_kernel_manager(self.kernel_name, self._runtime, self.sandboxed, self.config)
        return self.km

    def preprocess_cell(self, cell, resources, index):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        test = cell.cell_type == "code" and grade_id in self.trusted.tests
        if self._ended is not None:
            return self._stopped(cell, grade_id, *self._ended), self.resources
        if index in self._skip:
            return self._skipped(cell, grade_id, self._skip[index]), self.resources
        if not test and (cell.cell_type != "code" or not cell.source.strip()):
            return cell, self.resources  # nothing to run (nbclient would skip it too)
        if test:  # what a test cell shows is only what the judge gives it
            cell.source, cell.outputs, cell.execution_count = self.trusted.tests[grade_id], [], None
        name = _cell_name(index, grade_id)
        left = self._time_left()
        if left <= 0:
            return self._out_of_time(cell, grade_id, name), self.resources
        # the cell's limit, or what is left of the budget if that is less (then it ends the run)
        limit = self.timeout if self.timeout and self.timeout > 0 else math.inf
        self._limit = (left, True) if left < limit else (self.timeout, False)
        self._fired = None
        iopub_timeout = self.iopub_timeout  # `_async_handle_timeout` shortens it for an interrupted cell
        try:
            if test:
                cell.outputs = self._judge_cell(grade_id)
            else:
                cell, _ = super().preprocess_cell(cell, resources, index)
                self._note(cell, index)
        except _OutOfTime:
            return self._out_of_time(cell, grade_id, name), self.resources
        except _Unresponsive as exc:  # a judged cell whose kernel ignored the interrupt
            cell.outputs = exc.outputs
            return self._died(cell, grade_id, index, name, _ignored(self._limit[0]), exc, "CellTimeoutError")
        except CellTimeoutError as exc:  # nbclient's wait for the end of a cell's output ran out
            if self._fired is None and self._output_lost():
                cell.outputs.append(new_output("stream", name="stdout", text=f"[output cut: {OUTPUT_LOST}]\n"))
                self._observed["cut"].append(name)
                self.end_strays()
                return cell, self.resources
            self._end_kernel()
            if self._fired is not None:
                return self._died(cell, grade_id, index, name, _ignored(self._fired), exc, "CellTimeoutError")
            why = f"its output was still arriving {self.iopub_timeout} s after it ended, so the grader ended its kernel"
            return self._died(cell, grade_id, index, name, why, exc)
        except DeadKernelError as exc:
            status = _exit_status(self.km)  # waits for the launcher, which writes its report first
            why = limit_verdict(self.km) or why_it_died(status, self.sandboxed)
            return self._died(cell, grade_id, index, name, why, exc)
        finally:
            self.iopub_timeout, self._limit = iopub_timeout, None
        if self._fired is not None:
            self._observed["timeouts"].append({"cell": name, "limit": self._fired})
        self._note_memory(name)
        self.end_strays()
        return cell, self.resources

    def _died(self, cell, grade_id, index, name, why, exc, ename=KERNEL_DIED):
        """The kernel died in this cell: a rerun without it if the cell matters and one may follow
        (DeadKernelError), else the run ends here and the notebook is graded as it stands; the
        cell's error output is `ename`'s."""
        if self._key is None:  # a `session`: its caller decides
            raise DeadKernelError(f"the kernel died in {name}: {why}") from exc
        if not self._matters(cell, grade_id):
            no_rerun = "a rerun is for a graded cell or one that defines a graded function, not for this one"
        elif self._last:
            no_rerun = "this was the last run allowed"
        elif self._time_left() <= time.monotonic() - self._run_started:
            # a rerun would run out of time before it got this far: it could only lose points
            no_rerun = "what was left of the notebook's time budget would not take a rerun this far"
        else:
            DIED_IN[self._key] = {"index": index, "cell": name, "why": why}
            raise DeadKernelError(f"the kernel died in {name}: {why}") from exc
        self._end_kernel()
        self._observed["ended"] = {"cell": name, "why": why, "no_rerun": no_rerun}
        self._ended = (KERNEL_DIED, f"not run: the kernel died in {name} ({why}), and no cell after it ran")
        text = f"the kernel died in this cell ({why}); no cell after it ran"
        if ename != KERNEL_DIED:  # a CellTimeoutError: the cell's own fault says it best
            text = f"this cell {why}; no cell after it ran"
        return self._stopped(cell, grade_id, ename, text, keep=True), self.resources

    def _out_of_time(self, cell, grade_id, name):
        """The notebook's budget is spent, in this cell: its kernel is ended and no cell runs after it."""
        self._end_kernel()
        budget = self.notebook_budget
        self._observed["budget"] = {"cell": name, "seconds": budget}
        self._ended = (OUT_OF_TIME, f"not run: the notebook's time budget of {budget:g} s ran out in {name}")
        text = f"the notebook's time budget of {budget:g} s ran out in this cell: it was stopped, and no cell after it ran"
        return self._stopped(cell, grade_id, OUT_OF_TIME, text, keep=True)

    def _without_kernel(self, nb, resources):
        """A run that begins with its budget spent: every cell is given the error output that says so."""
        self.nb, self.resources = nb, resources
        first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), 0)
        for index, cell in enumerate(nb.cells):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if index == first:
                self._out_of_time(cell, grade_id, _cell_name(index, grade_id))
            elif cell.cell_type == "code":
                self._stopped(cell, grade_id, *self._ended)
        return nb, resources

    def _stopped(self, cell, grade_id, ename, text, keep=False):
        """`cell` with an error output (after what it printed, if `keep`): a test cell scores zero."""
        if cell.cell_type != "code":
            return cell
        if grade_id in self.trusted.tests:
            cell.source = self.trusted.tests[grade_id]
        cell.outputs = [*(cell.get("outputs", []) if keep else []), _error(ename, text)]
        cell.execution_count = None
        return cell

    def _note(self, cell, index):
        """Tell the NumPy-only kernel (started on first use) what the notebook's kernel ran: the
        imports and the answers whole, the rest for its definitions (numpy_kernel.py)."""
        if self._numpy is None:
            self._numpy = self._numpy_kernel()
            if self._link is not None:
                self._link.numpy = self._numpy
        if self._numpy is not None:
            self._numpy.note(cell.source, index == self._first_code or cell.metadata.get("nbgrader", {}).get("solution"))

    def _numpy_kernel(self):
        """The notebook's NumPy-only kernel, if its kernelspec is installed (install_grader_kernel
        installs it beside the grading kernel), else None: then every call is made in one kernel."""
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

        name = self.kernel_name + NUMPY_SUFFIX
        try:
            KernelSpecManager().get_kernel_spec(name)
        except NoSuchKernel:
            return None
        cwd = self.resources.get("metadata", {}).get("path") or "."
        return NumpyKernel(name, self.runtime_root, Path(cwd).resolve(), self.sandboxed, self.config, self.timeout or 30)

    def _skipped(self, cell, grade_id, why):
        """A cell that killed the kernel in an earlier run: not sent to the kernel again; its error
        output scores a test cell zero and says why."""
        return self._stopped(cell, grade_id, KERNEL_DIED, f"skipped: in the first run this cell killed the kernel: {why}")

    def _matters(self, cell, grade_id):
        """Whether a death in `cell` is worth a rerun without it: a graded cell of the instructor's
        notebook, or a cell that defines one of its graded functions or answers. A student's own
        cell of the story is not: its death ends the run (else each would buy a rerun)."""
        graded = [*self.trusted.functions, *self.trusted.answers]
        if grade_id in self.trusted.tests or grade_id in graded:
            return True
        return cell.cell_type == "code" and bool(defined_names(cell.source) & set(graded))

    # ---------------------------------------------------------------------------------- time
    def _time_left(self):
        return math.inf if self._deadline is None else self._deadline - time.monotonic()

    def _get_timeout(self, cell):
        """nbclient's limit for a cell: the cell's, or what is left of the notebook's budget."""
        return self._limit[0] if cell is not None and self._limit is not None else super()._get_timeout(cell)

    async def _async_handle_timeout(self, timeout, cell=None):
        """nbclient's timer fired (the grader's own observation, kept in `_fired`): past the budget
        the kernel is ended; past the cell's limit the kernel is interrupted and nbclient waits
        `interrupt_grace` s, not iopub_timeout, for the cell to end (`preprocess_cell` then ends it)."""
        if cell is None or self._limit is None:
            return await super()._async_handle_timeout(timeout, cell)
        seconds, by_budget = self._limit
        if by_budget:
            raise _OutOfTime()
        self._fired = seconds
        self.iopub_timeout = max(1, math.ceil(self.interrupt_grace))
        return await super()._async_handle_timeout(timeout, cell)

    def _end_kernel(self):
        """Kill the kernel's process (the launcher, which became the sandbox: all of it dies)."""
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if isinstance(process, subprocess.Popen) and process.poll() is None:
            process.kill()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    # --------------------------------------------------------------------------------- memory
    def memory_evidence(self):
        """What the sandbox saw of the kernel's memory (a text), or None. A hook for the sandbox's
        own report (cgroup memory events, say); until it has one, `_note_memory` reads the peak."""
        return None

    def _note_memory(self, name):
        """Name the cell after which the kernel's processes came close to their address-space cap,
        read from outside the kernel (/proc/<pid>/status VmPeak, which only grows: one cell a run)."""
        if self._observed["memory"]:
            return
        evidence = self.memory_evidence()
        if evidence is None:
            cap_mb = _memory_cap_mb(self.km)
            peak_kb = _peak_kb(_launcher_pid(self.km))
            if cap_mb and peak_kb >= MEMORY_NEAR_CAP * cap_mb * 1024:
                evidence = f"the kernel's address space reached {peak_kb // 1024} MB of its {cap_mb} MB cap"
        if evidence is not None:
            self._observed["memory"].append({"cell": name, "evidence": evidence})

    # -------------------------------------------------------------------------------- judging
    def judge(self, grade_id, timeout=None):
        """Run the instructor's test `grade_id` here against the kernel; its outputs."""
        link, namespace = self._judging()
        source = self.trusted.tests[grade_id]
        answers = [name for name in self.trusted.answers if name in source]
        outputs = judge_source(source, namespace, link, grade_id, timeout or self.timeout, answers)
        self._collect_flags(grade_id, link)
        return outputs

    def _judge_cell(self, grade_id):
        """`judge` within the cell's limit; whether the judge's timer stopped it is read from the
        clock and its own error output (which a student's exception cannot match: it has the test's
        lines in its traceback). Past the budget, or with a kernel still busy after the interrupt,
        the kernel is ended."""
        seconds, by_budget = self._limit
        if seconds is None:  # no limit configured
            return self.judge(grade_id)
        began = time.monotonic()
        outputs = self.judge(grade_id, seconds)
        if time.monotonic() - began < seconds or not outputs or outputs[-1] != _timeout_output(seconds):
            return outputs
        if by_budget:
            raise _OutOfTime()
        if not self._kernel_answers(self.interrupt_grace):
            self._end_kernel()
            raise _Unresponsive(outputs[:-1])
        self._fired = seconds
        return outputs

    def _output_lost(self):
        """Whether a cell whose end never arrived left a kernel that is ready for more: then its end
        was lost (a message over the grader's size cap drops the line that carries it, judge.py's
        MAX_MESSAGE), not still coming, and the notebook goes on with that cell's output cut."""
        try:
            self._judging()
            return self._kernel_answers(self.interrupt_grace)
        except Exception:  # noqa: BLE001 (a kernel that cannot be asked is not ready)
            return False

    def _kernel_answers(self, wait):
        """Whether the kernel replies to a kernel_info request within `wait` s; one still running the
        student's code after the interrupt does not (its shell handles one request at a time)."""
        kc = self._link.kc
        msg_id = kc.kernel_info()
        end = time.monotonic() + wait
        while True:
            try:
                reply = kc.get_shell_msg(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                return False
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return True

    def _judging(self):
        if self._link is None:
            self._link = KernelLink(self.km)
            namespace = {"__name__": "__judged__"}
            exec(compile(self.trusted.imports, "<imports>", "exec"), namespace)  # noqa: S102 (the instructor's cell)
            for name in self.trusted.functions:
                namespace[name] = Proxy(self._link, name)
            self._namespace = namespace
            self._link.numpy = self._numpy
        return self._link, self._namespace

    def _collect_flags(self, grade_id, link):
        for function, evidence in link.evidence:
            self.flags.append((grade_id, function, f"while the test ran, the code called {evidence}"))
        link.evidence.clear()
        for function, modules in link.forbid_asked.items():
            for line in source_evidence(self._submitted.get(function, ""), modules):
                self.flags.append((grade_id, function, f"the submitted code of {function} uses {line}"))
        link.forbid_asked.clear()

    def end_strays(self):
        pid = _launcher_pid(self.km)
        if pid is not None and self.sandboxed:
            from ..sandbox import end_strays

            end_strays(pid)
        if self._numpy is not None:
            self._numpy.end_strays()

    def output(self, outs, msg, display_id, cell_index):
        """Keep at most max_kernel_output characters of a kernel cell's output, counting whole
        messages (data, metadata, transient: a display's metadata is as large as a student makes it);
        past the cap nothing more is kept, and a note says so."""
        size = self._sizes.get(cell_index, 0)
        if size > self.max_kernel_output:
            return None
        grow = json_size(msg.get("content", {}), self.max_kernel_output - size + 1)
        self._sizes[cell_index] = size + grow
        if size + grow > self.max_kernel_output:
            note = f"[output cut: more than {self.max_kernel_output} characters]\n"
            outs.append(new_output("stream", name="stdout", text=note))
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _update_display_id(self, display_id, msg):
        # An update puts its data and metadata into earlier displays, bypassing `output`: the
        # notebook's updates share one cap.
        size = self._sizes.get(_UPDATES, 0)
        if size > self.max_kernel_output:
            return
        self._sizes[_UPDATES] = size + json_size(msg.get("content", {}), self.max_kernel_output - size + 1)
        if self._sizes[_UPDATES] <= self.max_kernel_output:
            super()._update_display_id(display_id, msg)

    def on_comm_open_jupyter_widget(self, msg):
        # No widget is mimicked: an Output widget's state would write outputs past `output`.
        return None


_UPDATES = "display updates"  # the key of the size of a notebook's display updates in `_sizes`


def json_size(value, limit):
    """About the length of `value`'s JSON, counted until it passes `limit` (then some number over it),
    without making that JSON: a message's metadata can be hundreds of megabytes, or deeply nested."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, dict):
            total += 2 + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            total += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, (bytes, bytearray, memoryview)):
            total += len(item)
        else:
            total += 24
    return total


class _OutOfTime(Exception):
    """The notebook's time budget ran out in the running cell."""


class _Unresponsive(Exception):
    """A judged cell's kernel still ran the student's code after the interrupt, and was ended;
    `outputs`: what the cell had printed."""

    def __init__(self, outputs):
        super().__init__("the kernel ignored the interrupt")
        self.outputs = outputs


def _error(ename, text):
    return new_output("error", ename=ename, evalue=text, traceback=[f"{ename}: {text}"])


def _ignored(seconds):
    return f"it ran longer than the {seconds:g} s limit per cell and ignored the interrupt, so the grader ended its kernel"


def _cell_name(index, grade_id):
    return f"cell '{grade_id}'" if grade_id else f"cell #{index + 1}"


def defined_names(source):
    """Names a cell binds at its top level (def, class, assignment, import, for, with), also inside
    if/try/for/while/with blocks but not in functions. IPython's syntax (magics, !commands) is turned
    into Python first; a cell that is still not Python defines nothing."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 (then the source is parsed as it is)
        pass
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names, statements = set(), list(tree.body)
    while statements:
        node = statements.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
        for target in targets:
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        for block in ("body", "orelse", "finalbody"):
            statements += [s for s in getattr(node, block, []) if isinstance(s, ast.stmt)]
        for handler in getattr(node, "handlers", []):
            statements += handler.body
    return names


class ReplayExecute(NbGraderPreprocessor):
    """In place of `JudgedExecute` for the one writer of a parallel grading run: no kernel; the
    notebook is the one a worker executed and judged (EXECUTED), taken only if every cell's source
    is the one nbgrader's sanitizing made here, so that nbgrader's next steps record its grades."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        key = (info["student"], info["assignment"], info["notebook"])
        executed = EXECUTED.get(key)
        if executed is None:
            raise RuntimeError(f"no graded notebook from a worker for {'/'.join(key)}")
        if not cells_match(nb, executed):
            raise RuntimeError(f"the notebook a worker graded for {'/'.join(key)} is not the one submitted")
        return executed, resources


def cells_match(nb, executed):
    """Whether `executed` (a notebook a grader executed and judged) is `nb` as nbgrader sanitized it."""
    return _cells(nb) == _cells(executed)


def outputs_digest(nb):
    """sha256 of a graded notebook's cells and outputs: what a grade was given for. `grade` keeps it
    with each result and tells a notebook another path wrote into the gradebook's folder by it."""
    cells = [(c.cell_type, c.source, c.get("outputs", [])) for c in nb.cells]
    return hashlib.sha256(json.dumps(cells, sort_keys=True, default=str).encode()).hexdigest()


def _cells(nb):
    """Each cell's kind, grade_id and source; a test cell's source is the instructor's once judged."""
    cells = []
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        test = c.cell_type == "code" and meta.get("grade") and not meta.get("solution")
        cells.append((c.cell_type, meta.get("grade_id"), None if test else c.source))
    return cells


def remove_links(folder):
    """Delete every symlink, fifo, socket and device file under `folder`, without following links."""
    if not folder:
        return
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = os.path.join(root, name)
            mode = os.lstat(path).st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                os.unlink(path)


def grading_kernel_manager(kernel_name, runtime, sandboxed=True, config=None, blocking=False):
    """A kernel manager whose connection file and sockets are in `runtime`, the kernel's own folder
    (writable in its sandbox); a sandboxed kernel has no network, so it talks over unix sockets.
    Its clients (nbclient's) refuse messages larger than judge.MAX_MESSAGE.
    blocking: a manager with jupyter_client's blocking methods (for code that is not a coroutine)."""
    # the launcher starts in "/"
    manager, client = (BlockingSandboxKernelManager, CappedKernelClient) if blocking else (SandboxKernelManager, CappedAsyncKernelClient)
    km = manager(kernel_name=kernel_name, config=config, client_factory=client)
    km.connection_file = str(Path(runtime) / "kernel.json")
    if sandboxed:
        km.transport = "ipc"
    return km


def _launcher_pid(km):
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return getattr(process, "pid", None)


def _memory_cap_mb(km):
    """The address-space cap the grader gave the kernel (its kernelspec's NN273_KERNEL_MEMORY_MB), or None."""
    try:
        return int(km.kernel_spec.env.get("NN273_KERNEL_MEMORY_MB", 0)) or None
    except (AttributeError, TypeError, ValueError):
        return None


def _peak_kb(pid):
    """The largest VmPeak (kB) of `pid` and its descendants (the sandbox, the kernel, its strays), 0 if none."""
    peak, seen, todo = 0, set(), [pid] if pid else []
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmPeak:"):
                    peak = max(peak, int(line.split()[1]))
            for task in os.listdir(f"/proc/{pid}/task"):
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return peak


def _exit_status(km, wait=5.0):
    """The exit status of the kernel's process (the launcher, which became the sandbox), or None if
    it is still running or unknown."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if not isinstance(process, subprocess.Popen):
        return None
    try:
        return process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        return None


def why_it_died(status, sandboxed):
    """Why a kernel died, from its process's exit status: N for os._exit(N); a signal N is -N
    unsandboxed and 128 + N from a sandbox (bwrap and the unshare reaper report it as a shell does)."""
    if status is None:
        return "the kernel stopped answering"
    number = -status if status < 0 else status - 128 if sandboxed and 128 < status <= 128 + 64 else None
    if number is None:
        return f"the kernel's process exited with status {status} (os._exit or an abort in the student's code)"
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGKILL:
        return f"the kernel was killed by signal {number} ({name}), as the system does to a process that takes too much memory"
    if number == signal.SIGSEGV:
        return f"the kernel crashed with signal {number} ({name}, a segmentation fault)"
    return f"the kernel was ended by signal {number} ({name})"


def source_evidence(source, modules):
    """Lines of `source` that name any of `modules` (e.g. torch.autograd: `.backward(`, `autograd`)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    words = set()
    for module in modules:
        parts = module.split(".")
        words.add(parts[-1])
        if parts[-1] == "autograd":
            words |= {"backward", "requires_grad", "requires_grad_"}
        if parts[0] == "nn273":
            words.add(module)
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
        elif isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names] + [a.name.split(".")[-1] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names += [node.module or "", (node.module or "").split(".")[-1]] + [a.name for a in node.names]
        if words & set(names):
            text = lines[node.lineno - 1].strip() if 0 < getattr(node, "lineno", 0) <= len(lines) else ""
            entry = f"line {node.lineno}: {text[:200]}"
            if entry not in found:
                found.append(entry)
    return found[:5]
