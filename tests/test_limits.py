"""Limits on a whole sandbox (autograder/sandbox/limits.py), shown on real kernels: forked children that
together pass the sandbox's memory cap, and a fork bomb, kill the sandbox; an honest kernel is
unaffected. Each runs with a cgroup (skipped where none can be made) and with the launcher's watchdog,
in each kind of sandbox that works here."""

import json
import os
import signal
import textwrap
import threading
import time
from pathlib import Path

import pytest

from autograder.sandbox.kernel_manager import SandboxKernelManager, limit_verdict
from autograder.sandbox.limits import KILLED_STATUS, Limits, cgroups_unavailable, verdict
from autograder.sandbox import SandboxUnavailable, find_sandbox, sandbox_reaper
from test_sandbox import Kernel, members, wait_for

pytestmark = pytest.mark.slow

CAP_MB = 1024  # the sandbox's memory
RLIMIT_MB = 2048  # each process's address space: three children of 700 MB each pass it one by one
PIDS = 64
# The watchdog samples: between two looks (20 ms near the cap) the children can touch this much more.
WATCHDOG_MARGIN_MB = 256

# Honest work: numpy, a subprocess, a shell, threads, torch (its threads count as tasks), 300 MB.
HONEST = """
    import subprocess, numpy as np, torch
    from concurrent.futures import ThreadPoolExecutor
    product = np.random.rand(300, 300) @ np.random.rand(300, 300)
    subprocess.run(["true"], check=True)
    subprocess.run("ls / | wc -l > /dev/null", shell=True, check=True)
    with ThreadPoolExecutor(8) as pool:
        squares = list(pool.map(lambda i: i * i, range(100)))
    x = torch.randn(128, 128, requires_grad=True)
    (x @ x).sum().backward()
    block = np.ones(300 * 2**20 // 8)  # 300 MB in one process: under both caps
    del block
    print("honest", squares[-1])
"""

FORKS = """
    import os, time, numpy as np
    children = []
    for _ in range(3):
        child = os.fork()
        if child == 0:
            try:
                block = np.ones(700 * 2**20 // 8)  # 700 MB each, touched; 2.1 GB together
                time.sleep(60)
            finally:
                os._exit(0)  # never back into the kernel's code
        children.append(child)
    for child in children:
        os.waitpid(child, 0)
"""

FORK_BOMB = """
    import os, time
    first = os.getpid()
    for _ in range(8):  # 256 processes if nothing stops them
        try:
            os.fork()
        except OSError:
            pass
    time.sleep(60)
    if os.getpid() != first:
        os._exit(0)
"""


@pytest.fixture(params=[("bwrap", "auto"), ("bwrap", "watchdog"), ("unshare", "auto"), ("unshare", "watchdog")],
                ids=["bwrap-cgroup", "bwrap-watchdog", "unshare-cgroup", "unshare-watchdog"])
def setting(request, monkeypatch):
    kind, how = request.param
    try:
        find_sandbox(kind)
    except SandboxUnavailable as error:
        pytest.skip(str(error))
    if how == "auto":
        reason = cgroups_unavailable()
        if reason:
            pytest.skip(reason)
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))
    return kind, how


def start(setting, root):
    kind, how = setting
    return Kernel(kind, root, with_site=False, manager=SandboxKernelManager, memory_mb=RLIMIT_MB,
                  sandbox_memory_mb=CAP_MB, pids=PIDS, limits=how)


BEFORE_THE_CGROUP_MB = 48  # what a sandbox's processes may hold from before they joined its cgroup


class Sampler(threading.Thread):
    """Samples, from the host, the memory that the sandbox started by `launcher` allocated: the
    proportional anonymous and shared sets of its processes (a page shared by forks counted once),
    every 10 ms; `peak` in bytes. (Pages of files such as shared libraries are left out: a cgroup
    does not charge those that others loaded first.)"""

    def __init__(self, launcher):
        super().__init__(daemon=True)
        self.launcher, self.peak, self.running = launcher, 0, True

    def run(self):
        reaper = sandbox_reaper(self.launcher)
        namespace = os.readlink(f"/proc/{reaper}/ns/pid")
        while self.running:
            total = 0
            for pid in members(namespace):
                try:
                    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                except OSError:
                    continue
                for line in rollup.splitlines():
                    if line.startswith(("Pss_Anon:", "Pss_Shmem:")):
                        total += int(line.split()[1]) * 1024
            self.peak = max(self.peak, total)
            time.sleep(0.01)


def ended(kernel, timeout=90):
    """The launcher's exit status once it exits within `timeout` seconds, else None."""
    try:
        return kernel.km.provisioner.process.wait(timeout=timeout)
    except Exception:  # noqa: BLE001 (subprocess.TimeoutExpired, or no process)
        return None


def test_children_that_together_pass_the_cap_kill_the_sandbox(setting, tmp_path):
    kind, how = setting
    kernel = start(setting, tmp_path)  # numpy only: torch would take 1 GB of each child's address space
    try:
        sampler = Sampler(kernel.launcher)
        sampler.start()
        kernel.kc.execute(textwrap.dedent(FORKS))
        status = ended(kernel)
        sampler.running = False
        sampler.join()
        report = kernel.km.limit_report()
    finally:
        kernel.stop()
    margin = 0 if how == "auto" else WATCHDOG_MARGIN_MB * 2**20
    # Sampled from outside, the processes' own pages include a few they touched before the launcher
    # put them in the cgroup (charged to the grader's cgroup, not the sandbox's): 20 MiB once on CI's
    # busy machine, under unshare, whose setup step runs before the kernel. The cgroup's own peak
    # is the measure it enforces, and it is held to the cap exactly.
    sampled = margin if how != "auto" else BEFORE_THE_CGROUP_MB * 2**20
    assert status == KILLED_STATUS, f"the sandbox was not stopped (status {status}; report {report})"
    assert report["killed_for"] == "memory", report
    assert report["enforced_by"]["memory"].startswith("a cgroup" if how == "auto" else "the launcher's watchdog")
    assert sampler.peak <= CAP_MB * 2**20 + sampled, f"{sampler.peak / 2**20:.0f} MiB sampled; report {report}"
    assert report["memory_peak"] <= CAP_MB * 2**20 + margin, report
    assert verdict(report).startswith(f"the sandbox was killed: its processes together held more than its {CAP_MB} MiB")


def test_honest_work_is_unaffected_and_a_fork_bomb_kills_the_sandbox(setting, tmp_path):
    kind, how = setting
    kernel = start(setting, tmp_path)
    namespace = os.readlink(f"/proc/{sandbox_reaper(kernel.launcher)}/ns/pid")
    try:
        out, error = kernel.run(HONEST, timeout=120)
        assert (out, error) == ("honest 9801\n", None)
        assert kernel.km.provisioner.process.poll() is None  # honest work left the sandbox alive

        kernel.kc.execute(textwrap.dedent(FORK_BOMB))
        status = ended(kernel)
        assert wait_for(lambda: not members(namespace), timeout=10), members(namespace)
        reason = limit_verdict(kernel.km)
        report = kernel.km.limit_report()
    finally:
        kernel.stop()
    assert status == KILLED_STATUS, f"the fork bomb was not stopped (status {status}; report {report})"
    assert report["killed_for"] == "processes", report
    assert reason.startswith(f"the sandbox was killed: it ran more than {PIDS} processes and threads at once")


@pytest.mark.parametrize("kind", ["bwrap", "unshare"])
def test_sigkill_to_the_launcher_ends_the_sandbox(kind, tmp_path, monkeypatch):
    try:
        find_sandbox(kind)
    except SandboxUnavailable as error:
        pytest.skip(str(error))
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))
    kernel = start((kind, "auto"), tmp_path)
    try:
        kernel.run("import subprocess\nsubprocess.Popen(['sleep', '1000'])")
        namespace = os.readlink(f"/proc/{sandbox_reaper(kernel.launcher)}/ns/pid")
        assert len(members(namespace)) == 3  # the reaper, the kernel, sleep
        os.kill(kernel.launcher, signal.SIGKILL)
        assert wait_for(lambda: not members(namespace), timeout=10), members(namespace)
    finally:
        kernel.stop()


def test_without_a_report_nothing_is_said_and_limits_are_checked():
    assert verdict(None) is None and verdict({"killed_for": None}) is None
    with pytest.raises(ValueError, match="Limits.how must be one of auto, watchdog"):
        Limits(memory_mb=1, how="cgroup")
    report = json.loads(json.dumps({"killed_for": "memory", "memory_mb": 5, "enforced_by": {"memory": "x"}}))
    assert verdict(report) == (
        "the sandbox was killed: its processes together held more than its 5 MiB of memory (measured by x)"
    )
