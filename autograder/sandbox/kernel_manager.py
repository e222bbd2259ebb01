"""How the grader starts a grading kernel: `SandboxKernelManager`, jupyter_client's AsyncKernelManager
made to keep the launcher out of the notebook's folder and to learn why a sandbox was killed.

nbclient starts a kernel with cwd = the notebook's folder, which holds whatever the submission brought.
This manager starts the kernelspec's launcher in "/" instead and tells it the notebook's folder in
NN273_KERNEL_CWD; the launcher makes that folder the sandbox's working folder only inside the sandbox.
It also names a file in a private folder of the grader's temp dir, outside every sandbox, for the
launcher's report of a kill for a limit (`autograder.sandbox.limits`): `limit_verdict(km)` reads it.

The kernelspec is safe without this manager too (nbgrader's own autograde and formgrader use a plain
one): the launcher runs isolated (python -I) from an absolute path and leaves the folder at once.
Kept apart from sandbox.py, which the launcher imports: jupyter_client would cost it 0.7 s a kernel.
"""

import os
import shutil
import tempfile

from jupyter_client.manager import AsyncKernelManager, KernelManager

from .launch import CWD_VARIABLE
from .limits import REPORT_VARIABLE, read_report, sweep_cgroups, verdict

__all__ = ["BlockingSandboxKernelManager", "SandboxKernelManager", "limit_verdict"]


class _LaunchedFromRoot:
    """What both managers below add to jupyter_client's: the kernel's launcher starts in "/", with the
    notebook's folder (the `cwd` that start_kernel was given) in NN273_KERNEL_CWD and a report path in
    NN273_LIMITS_REPORT. (jupyter_client's blocking methods call these coroutines too.)"""

    _notebook_folder = None
    _reports = None  # this kernel's private folder for the launcher's report

    async def _async_pre_start_kernel(self, **kw):
        if self._notebook_folder is None:  # a restart keeps the folder of the first start
            self._notebook_folder = os.path.abspath(kw.get("cwd") or os.getcwd())
        if self._reports is None:  # a start after a shutdown, which removed it, gets a new one
            self._reports = tempfile.mkdtemp(prefix="nn273-limits-")
        if self.connection_file:  # the launcher starts in "/": a relative path would lead elsewhere
            self.connection_file = os.path.abspath(self.connection_file)
        env = dict(kw.get("env") or os.environ)
        env[CWD_VARIABLE] = self._notebook_folder
        env[REPORT_VARIABLE] = self.report_path
        kw.update(env=env, cwd="/")
        return await super()._async_pre_start_kernel(**kw)

    @property
    def report_path(self):
        return os.path.join(self._reports, "limits.json") if self._reports else None

    def limit_report(self):
        """The launcher's report (limits.read_report), once the kernel's process has exited; else None."""
        return read_report(self.report_path) if self.report_path else None

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            # A launcher killed with its process group could not remove its cgroups.
            sweep_cgroups()
            if self._reports:
                shutil.rmtree(self._reports, ignore_errors=True)
                self._reports = None


class SandboxKernelManager(_LaunchedFromRoot, AsyncKernelManager):
    """The grading kernel's manager, for nbclient."""


class BlockingSandboxKernelManager(_LaunchedFromRoot, KernelManager):
    """The same with blocking methods, for a kernel the grader starts itself (the NumPy-only kernel)."""


def limit_verdict(km):
    """Why `km`'s sandbox was killed, if its launcher killed it for a limit (in words); else None."""
    report = km.limit_report() if isinstance(km, _LaunchedFromRoot) else None
    return verdict(report)
