"""What starts and confines a grading kernel: the grader's side of the sandbox's wall.

- namespaces.py: the sandbox itself (bubblewrap, or unshare and a setup step): the view of the file
  system a kernel gets, no network, no capabilities, and its processes found and ended from outside;
- launch.py: the trusted launcher a kernelspec runs (isolated, by path, started in "/"), which stays
  outside the sandbox as its supervisor;
- limits.py: memory and processes per sandbox (a cgroup, else a watchdog), and the report of a kill;
- kernelspec.py: the kernelspecs of the grading kernels and their NumPy-only companions;
- kernel_manager.py: the kernel manager the grader starts them with;
- site.py: the folder a kernel imports from (the student edition of nn273, the data, kernelside/).

Nothing here judges, and nothing here runs inside a sandbox: that is autograder/kernelside/.
"""

from .namespaces import (
    KERNEL_PID,
    KINDS,
    Sandbox,
    SandboxUnavailable,
    end_strays,
    find_sandbox,
    kernel_manager_config,
    sandbox_reaper,
)

__all__ = [
    "KERNEL_PID",
    "KINDS",
    "Sandbox",
    "SandboxUnavailable",
    "end_strays",
    "find_sandbox",
    "kernel_manager_config",
    "sandbox_reaper",
]
