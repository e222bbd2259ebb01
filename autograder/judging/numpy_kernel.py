"""The NumPy-only kernel: where the hidden tests' calls of a NumPy exercise are made.

A NumPy exercise (a layer's forward and backward, written without torch) is graded by hidden tests
that call it with `forbid=[torch]` (or `torch.autograd`). In the notebook's own kernel torch is
there, for the notebook's torch parts, and no check made inside that kernel can be trusted: a
profile hook is switched off by `sys.setprofile(None)` or escaped by a thread. So those calls are
made in a second kernel of the notebook, started when the first such call comes, whose sandbox has
no torch on its file system (autograder/sandbox/launch.py masks its folders) and whose `import torch` gives
stand-ins that never compute (kernelside/absent.py). What the student's function returns there is
what the hidden test judges.

The second kernel gets the notebook's code as the first one ran it, in the same order: the first
code cell (the imports) and every answer cell whole; every other cell only for its definitions
(imports, functions, classes, and assignments that call nothing), so that a helper or a constant
the answer uses is there, and a story's training run or plot is not run twice. Test cells are never
sent to a kernel.
"""

import ast
import contextlib
import queue
import shutil
import tempfile
import time
from pathlib import Path

from nbclient.exceptions import DeadKernelError

from ..sandbox.kernelspec import NUMPY_SUFFIX, WITHOUT
from .judge import CellTimeout, KernelLink, _failure

__all__ = ["NUMPY_SUFFIX", "WITHOUT", "NumpyKernel", "definitions", "needs_numpy_kernel"]

START_TIMEOUT = 60.0  # seconds for the kernel to start and answer


def needs_numpy_kernel(forbid):
    """Whether a call that must not use the modules `forbid` (names) goes to the NumPy-only kernel."""
    return any(str(m).split(".")[0] in WITHOUT for m in forbid)


def definitions(source):
    """The statements of `source` that only define: imports, functions, classes, and assignments to
    names whose values call nothing; each on its own, so that one that fails (a name the story made)
    does not keep the others from being defined. '' if the source does not parse (the notebook's
    kernel said why already)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    kept = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kept.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and _to_names(node) and not _runs(node.value):
            kept.append(node)
    alone = [ast.Try(body=[node], handlers=[_ANY], orelse=[], finalbody=[]) for node in kept]
    return ast.unparse(ast.fix_missing_locations(ast.Module(body=alone, type_ignores=[]))) if alone else ""


_ANY = ast.ExceptHandler(type=ast.Name("Exception", ast.Load()), name=None, body=[ast.Pass()])


def _to_names(node):
    """Whether an assignment binds names only (not an attribute or an item: that changes an object
    that exists, as a patch does)."""
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.value is not None
    targets = [t for target in node.targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
    return all(isinstance(t, ast.Name) for t in targets)


def _runs(node):
    """Whether evaluating the expression `node` calls anything (a lambda's body runs later)."""
    if isinstance(node, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)):
        return True
    return any(_runs(child) for child in ast.iter_child_nodes(node) if not isinstance(node, ast.Lambda))


class NumpyLink(KernelLink):
    """A link to the NumPy-only kernel: its death or a broken line fails the call that met it, not
    the notebook (the notebook's own kernel is alive and well)."""

    def request(self, op, target, args=(), kwargs=None, attr=None, guard=None):
        try:
            return super().request(op, target, args, kwargs, attr, guard)
        except DeadKernelError:
            return _failure("the kernel without torch, where this exercise is graded, died during the call")


class NumpyKernel:
    """The second kernel of one notebook, started on first use (`link`), ended by `close`."""

    def __init__(self, kernel_name, runtime_root, cwd, sandboxed, config=None, cell_timeout=30.0):
        self.kernel_name, self.runtime_root, self.cwd = kernel_name, runtime_root, cwd
        self.sandboxed, self.config, self.cell_timeout = sandboxed, config, cell_timeout
        self.log = []  # (source, whole): the notebook's code cells as the first kernel ran them
        self.sent = 0  # how many of them this kernel has run
        self.km = self._link = self._runtime = None
        self.broken = None  # why this kernel cannot be used, once it cannot

    def note(self, source, whole):
        """A code cell that the notebook's kernel ran (whole: the imports or an answer)."""
        self.log.append((source, bool(whole)))

    def link(self, deadline):
        """The started kernel's link, with every cell noted so far run in it; None if it cannot be
        had (then `broken` says why)."""
        if self.broken:
            return None
        try:
            if self._link is None:
                self._start()
            self._catch_up(deadline)
        except CellTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 (the calls then fail, saying why)
            self.broken = f"the kernel without torch could not be started: {type(exc).__name__}: {exc}"[:500]
            self.close()
            return None
        self._link.deadline = deadline
        return self._link

    def _start(self):
        from .execute import grading_kernel_manager

        self._runtime = Path(tempfile.mkdtemp(prefix="kernel-", dir=self.runtime_root or None))
        self.km = grading_kernel_manager(self.kernel_name, self._runtime, self.sandboxed, self.config, blocking=True)
        self.km.start_kernel(cwd=str(self.cwd))
        # A client of the manager asks the kernel's process whether it lives; a client on its own
        # (the link's) asks the heartbeat, which a kernel still importing on a busy machine has not
        # started yet: "Kernel died before replying to kernel_info" from one that is only slow.
        client = self.km.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=START_TIMEOUT)
        finally:
            client.stop_channels()
        self._link = NumpyLink(self.km)

    def _catch_up(self, deadline):
        while self.sent < len(self.log):
            source, whole = self.log[self.sent]
            self.sent += 1
            code = source if whole else definitions(source)
            if code.strip():
                self._run(code, deadline)

    def _run(self, code, deadline):
        """Run `code` in the kernel and wait for it to end; its outputs and errors are not kept
        (the notebook's own kernel showed them)."""
        link = self._link
        msg_id = link.kc.execute(code, silent=True, store_history=False, allow_stdin=False, stop_on_error=False)
        end = min(time.monotonic() + self.cell_timeout, deadline if deadline is not None else float("inf"))
        while True:
            left = end - time.monotonic()
            if left <= 0:
                link._interrupt()
                if deadline is not None and time.monotonic() >= deadline:
                    raise CellTimeout()
                return
            try:
                reply = link.kc.get_shell_msg(timeout=min(left, 0.5))
            except queue.Empty:
                if not link._alive():
                    raise DeadKernelError("the kernel without torch died while the notebook's code ran in it")
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                break
        link._idle(msg_id, until=min(time.monotonic() + 2.0, end))
        link.take_printed()

    def finish(self):
        """End the kernel's serving at the end of a judged cell; what the student's code printed."""
        if self._link is None:
            return ""
        with contextlib.suppress(Exception):
            return self._link.finish()
        return ""

    def end_strays(self):
        if self.km is not None and self.sandboxed:
            from .execute import _launcher_pid
            from ..sandbox import end_strays

            pid = _launcher_pid(self.km)
            if pid is not None:
                end_strays(pid)

    def close(self):
        if self._link is not None:
            self._link.close()
            self._link = None
        if self.km is not None:
            with contextlib.suppress(Exception):
                self.km.shutdown_kernel(now=True)
            self.km = None
        if self._runtime is not None:
            shutil.rmtree(self._runtime, ignore_errors=True)
            self._runtime = None
