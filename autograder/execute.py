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

A dead kernel (os._exit, a crash, killed for memory) raises DeadKernelError, as nbclient does;
DIED_IN keeps the cell and why (the kernel process's exit status). Run again with that cell in SKIP,
the notebook is executed without sending it to the kernel: it gets an error output that says so, and
so its tests score zero while every other cell runs and scores (grade.py reruns).

Flags: a function that a hidden test asks to be written without a library (forbid=) is looked for in
the submitted source too; both that and what the kernel saw it call are kept in `self.flags`, with the
evidence, for the grade report.
"""

import ast
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from traitlets import Bool, Integer, Unicode

from nbgrader.preprocessors import Execute, NbGraderPreprocessor

from .config import NUMPY_SUFFIX, grader_kernel
from .course import ANSWER_PREFIX
from .judge import CappedAsyncKernelClient, CappedKernelClient, KernelLink, Proxy, judge_source
from .kernel_manager import BlockingSandboxKernelManager, SandboxKernelManager, limit_verdict
from .numpy_kernel import NumpyKernel

__all__ = [
    "DIED_IN",
    "EXECUTED",
    "FLAGS",
    "SKIP",
    "JudgedExecute",
    "ReplayExecute",
    "TrustedNotebook",
    "grading_kernel_manager",
    "json_size",
    "why_it_died",
]

MAX_KERNEL_OUTPUT = 1_000_000  # characters of output kept per kernel cell

# (student, assignment, notebook) -> [(grade_id, function, evidence)], for the grade report, and ->
# the cell in which the kernel died, {"index", "cell" (its name), "why"}; nbgrader makes the
# preprocessor, so this is where its findings wait for `grade`.
FLAGS = {}
DIED_IN = {}
# (student, assignment, notebook) -> {cell index: why}: cells not sent to the kernel on a rerun, since
# in an earlier run they killed it
SKIP = {}
KERNEL_DIED = "KernelDied"  # the ename of a skipped cell's error output
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
        from .intake import MAX_NOTEBOOK_BYTES, read_regular

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
    # and a kernel whose messaging a submission broke still costs that notebook its grades
    # (raise_on_iopub_timeout stays nbgrader's: without it nbclient can wait on such a kernel forever).
    iopub_timeout = Integer(20).tag(config=True)

    flags = []  # (grade_id, function, evidence) of the notebook last executed

    def preprocess(self, nb, resources=None, km=None):
        info = resources["nbgrader"]
        self._prepare(nb, info["assignment"], info["notebook"])
        self._skip = dict(SKIP.get((info["student"], info["assignment"], info["notebook"]), {}))
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._finish((info["student"], info["assignment"], info["notebook"]), resources)

    @contextmanager
    def session(self, nb, assignment, folder):
        """A judged kernel for `nb` outside nbgrader (for `check`): run cells with
        `preprocess_cell`, judge tests with `judge`; the kernel ends with the block."""
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
        if index in self._skip:
            return self._skipped(cell, grade_id, self._skip[index]), self.resources
        try:
            if cell.cell_type == "code" and grade_id in self.trusted.tests:
                cell.source = self.trusted.tests[grade_id]
                cell.outputs = self.judge(grade_id)
                cell.execution_count = None
            else:
                cell, _ = super().preprocess_cell(cell, resources, index)
                if cell.cell_type == "code":
                    self._note(cell, index)
        except DeadKernelError:
            info = resources["nbgrader"]
            status = _exit_status(self.km)  # waits for the launcher, which writes its report first
            DIED_IN[(info["student"], info["assignment"], info["notebook"])] = {
                "index": index,
                "cell": f"cell '{grade_id}'" if grade_id else f"cell #{index + 1}",
                "why": limit_verdict(self.km) or why_it_died(status, self.sandboxed),
            }
            raise
        self.end_strays()
        return cell, self.resources

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
        if cell.cell_type == "code" and grade_id in self.trusted.tests:
            cell.source = self.trusted.tests[grade_id]
        text = f"skipped: in the first run this cell killed the kernel: {why}"
        cell.outputs = [new_output("error", ename=KERNEL_DIED, evalue=text, traceback=[f"{KERNEL_DIED}: {text}"])]
        cell.execution_count = None
        return cell

    def judge(self, grade_id):
        """Run the instructor's test `grade_id` here against the kernel; its outputs."""
        link, namespace = self._judging()
        source = self.trusted.tests[grade_id]
        answers = [name for name in self.trusted.answers if name in source]
        outputs = judge_source(source, namespace, link, grade_id, self.timeout, answers)
        self._collect_flags(grade_id, link)
        return outputs

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
            from .sandbox import end_strays

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
        if _cells(nb) != _cells(executed):
            raise RuntimeError(f"the notebook a worker graded for {'/'.join(key)} is not the one submitted")
        return executed, resources


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
