"""The grading kernel's sandbox, shown by running code in real kernels: one kernel per kind of sandbox
that works on this machine (the others are skipped, with the reason), started as the grader starts
them, through the `nn273-grader` kernelspec and jupyter_client over unix sockets."""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from jupyter_client import AsyncKernelManager, BlockingKernelClient, KernelManager
from traitlets.config import Config

import autograder.sandbox.namespaces
from autograder.course import ROOT
from autograder.sandbox.kernelspec import install_grader_kernel
from autograder.sandbox.launch import main as launch
from autograder.sandbox import (
    KERNEL_PID,
    Sandbox,
    SandboxUnavailable,
    end_strays,
    find_sandbox,
    kernel_manager_config,
    sandbox_reaper,
)

pytestmark = pytest.mark.slow

SITE_PACKAGES = ("kernelside", "nn273", "data")


class Kernel:
    """A started grading kernel and the folders around it. `manager`: the KernelManager class that
    starts it (jupyter_client's sync one, as a user's tool would, or an async one, as nbclient does);
    `install`: more options of install_grader_kernel; `submission`: files for the notebook's folder."""

    def __init__(self, kind, root, with_site=True, manager=KernelManager, submission=None, **install):
        self.kind = kind
        self.site = root / "site"
        self.cwd = root / "students" / "ada"
        self.sibling = root / "students" / "bob"
        self.runtime = root / "rt"
        for package in SITE_PACKAGES if with_site else ():
            source = ROOT / "autograder" / package if package == "kernelside" else ROOT / package
            shutil.copytree(source, self.site / package, ignore=shutil.ignore_patterns("__pycache__"))
        self.cwd.mkdir(parents=True)
        self.sibling.mkdir()
        (self.sibling / "bob.ipynb").write_text("{}")
        for name, text in (submission or {}).items():
            (self.cwd / name).parent.mkdir(parents=True, exist_ok=True)
            (self.cwd / name).write_text(text)
            if text.startswith("#!"):
                (self.cwd / name).chmod(0o755)
        site = self.site if with_site else None
        name = install_grader_kernel(root / "work", site=site, sandbox=kind, **install)
        self.km = manager(kernel_name=name, config=kernel_manager_config(Config(), kind, self.runtime))
        self._loop = asyncio.new_event_loop() if isinstance(self.km, AsyncKernelManager) else None
        self.call(self.km.start_kernel, cwd=str(self.cwd))
        self.launcher = self.km.provisioner.pid
        self.kc = BlockingKernelClient(parent=self.km)  # asks the manager, not the heartbeat, if it lives
        self.kc.load_connection_info(self.km.get_connection_info())
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=60)
        except RuntimeError:
            self.stop()  # no kernel left behind by a test that failed
            raise

    def call(self, method, *args, **kwargs):
        """Call a method of the manager, sync or async alike."""
        result = method(*args, **kwargs)
        return self._loop.run_until_complete(result) if self._loop else result

    def run(self, code, timeout=30):
        """Run `code` in the kernel: (its stdout, the name of the error it raised or None)."""
        out, errors = [], []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                errors.append(msg["content"]["ename"])

        self.kc.execute_interactive(textwrap.dedent(code), timeout=timeout, output_hook=hook)
        return "".join(out), (errors[0] if errors else None)

    def value(self, code):
        """The JSON value that `code` prints last."""
        out, error = self.run(code)
        assert error is None, out
        return json.loads(out.strip().splitlines()[-1])

    def stop(self, now=True):
        self.kc.stop_channels()
        if self.km.has_kernel:
            self.call(self.km.shutdown_kernel, now=now)
        if self._loop:
            self._loop.close()


@pytest.fixture(scope="module", params=["bwrap", "unshare"])
def kernel(request, tmp_path_factory):
    try:
        find_sandbox(request.param)
    except SandboxUnavailable as error:
        pytest.skip(str(error))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))  # install_grader_kernel adds to it
        kernel = Kernel(request.param, tmp_path_factory.mktemp(request.param))
        yield kernel
        kernel.stop()


def namespace_of(launcher):
    """The pid namespace of the sandbox's pid 1 (the launcher's grandchild), seen from the host."""
    reaper = sandbox_reaper(launcher)
    assert reaper is not None, f"the launcher {launcher} has no descendant in a pid namespace of its own"
    return os.readlink(f"/proc/{reaper}/ns/pid")


def members(namespace):
    """{host pid: command name} of the live processes (not zombies) in `namespace`."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "ns" / "pid") == namespace:
                stat = (entry / "stat").read_text()  # "pid (name) state ..."
                if stat[stat.rindex(")") + 2] != "Z":
                    found[int(entry.name)] = stat[stat.index("(") + 1 : stat.rindex(")")]
        except OSError:
            pass  # gone meanwhile
    return found


def wait_for(condition, timeout=5):
    end = time.monotonic() + timeout
    while not condition() and time.monotonic() < end:
        time.sleep(0.05)
    return condition()


def test_kernel_computes_and_imports_nn273_from_its_site(kernel):
    result = kernel.value("""
        import json, os, numpy as np, torch, matplotlib.pyplot as plt, nn273
        plt.plot([0, 1], [1, 0]); plt.savefig("plot.png")
        norm, total = float(np.linalg.norm(np.ones(4))), float(torch.ones(3).sum())
        print(json.dumps([norm, total, nn273.__file__, os.getpid()]))
    """)
    assert result[:2] == [2.0, 3.0]
    assert result[2] == str(kernel.site / "nn273" / "__init__.py")
    assert result[3] == KERNEL_PID
    assert (kernel.cwd / "plot.png").read_bytes().startswith(b"\x89PNG")


def test_an_optimizer_step_does_not_import_the_compiler_and_compiling_still_works(kernel):
    # boot.py: torch._dynamo (1.8 s of CPU per kernel) is imported only when something compiles
    result = kernel.value("""
        import json, sys, torch
        w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.Adam([w], lr=0.1)
        for _ in range(3):
            optimizer.zero_grad()
            (w ** 2).sum().backward()
            optimizer.step()
        before = type(sys.modules["torch._dynamo"]).__name__
        doubled = torch.compile(lambda x: 2 * x, backend="eager")(torch.ones(2))
        import torch._dynamo.config
        print(json.dumps([before, type(sys.modules["torch._dynamo"]).__name__, w.tolist(), doubled.tolist(),
                          torch._dynamo.config.cache_size_limit > 0]))
    """)
    assert result[0] == "_DynamoOnDemand" and result[1] == "module"
    import torch  # the same steps here, where torch._dynamo is the real one

    w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([w], lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        (w**2).sum().backward()
        optimizer.step()
    assert result[2] == w.tolist()
    assert result[3:] == [[2.0, 2.0], True]


def test_kernel_sees_only_the_system_the_environment_its_site_and_cwd(kernel):
    hidden = [ROOT / "solutions", ROOT / "autograder" / "config.py", "/home", kernel.sibling]
    result = kernel.value(f"""
        import json, os
        hidden = [p for p in {[str(p) for p in hidden]!r} if os.path.exists(p)]
        print(json.dumps([sorted(os.listdir("/")), sorted(os.listdir("/etc")), os.listdir("/root"), hidden,
                          sorted(os.listdir({str(kernel.cwd.parent)!r}))]))
    """)
    top, etc, root, visible, students = result
    base_prefix = Path(os.path.realpath(sys.base_prefix))
    mounted = [sys.prefix, base_prefix, kernel.site, kernel.cwd, kernel.runtime]
    system = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "proc", "dev", "tmp"}
    assert set(top) <= system | {Path(p).parts[1] for p in mounted}, top
    assert set(etc) <= {"ld.so.cache", "localtime", "passwd", "group", "nsswitch.conf", "fonts"}, etc
    if base_prefix.is_relative_to("/root"):
        assert root == [base_prefix.parts[2]]  # only the way to the interpreter
    else:
        assert root == []
    assert visible == []
    assert students == ["ada"]


def test_kernel_writes_only_cwd_and_has_a_private_tmp(kernel):
    private = f"/tmp/nn273-sandbox-test-{os.getpid()}"
    targets = [kernel.site / "nn273" / "x.py", Path(sys.prefix) / "x", "/usr/x", "/x"]
    result = kernel.value(f"""
        import json
        open("answer.txt", "w").write("42")
        open({private!r}, "w").write("private")
        refused = []
        for path in {[str(p) for p in targets]!r}:
            try:
                open(path, "w").close()
            except OSError:
                refused.append(path)
        print(json.dumps(refused))
    """)
    assert result == [str(p) for p in targets]
    assert (kernel.cwd / "answer.txt").read_text() == "42"
    assert not os.path.exists(private)


def test_kernel_has_no_network(kernel):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        result = kernel.value(f"""
            import json, socket
            errors = []
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
            except OSError as error:
                errors.append(type(error).__name__)
            try:
                socket.getaddrinfo("pypi.org", 443)
            except OSError as error:
                errors.append(type(error).__name__)
            print(json.dumps(errors))
        """)
    assert result[0] in ("ConnectionRefusedError", "TimeoutError", "OSError")
    assert result[1] == "gaierror"


def test_memory_cap_gives_a_memory_error(kernel):
    assert kernel.run("import numpy as np\nnp.ones(2**33)")[1] == "MemoryError"


def test_end_strays_kills_children_daemons_and_nohup_but_not_the_kernel(kernel):
    out, error = kernel.run("""
        import os, subprocess
        child = subprocess.Popen(["sleep", "1000"])
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "1001"])
            os._exit(0)
        os.wait()
        subprocess.run("nohup sleep 1002 >/dev/null 2>&1 &", shell=True)
    """)
    assert error is None, out
    namespace = namespace_of(kernel.launcher)
    assert wait_for(lambda: list(members(namespace).values()).count("sleep") == 3), members(namespace)
    sleeps = {pid for pid, name in members(namespace).items() if name == "sleep"}

    assert set(end_strays(kernel.launcher)) == sleeps
    assert wait_for(lambda: len(members(namespace)) == 2), members(namespace)  # the reaper and the kernel
    # The kernel lives on, and reaps its killed child (a zombie would slow ipykernel's shutdown down).
    assert kernel.run("print(child.wait())") == ("-9\n", None)


def test_interrupt_stops_a_loop_and_the_kernel_survives(kernel):
    # stop_on_error=False: else ipykernel aborts what arrives just after the error, the next execute too
    msg_id = kernel.kc.execute("while True:\n    pass", stop_on_error=False)
    time.sleep(1)
    kernel.km.interrupt_kernel()
    reply = kernel.kc.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    # alive and computing: the answer comes in the execute reply (a printed line can trail the reply
    # on a busy machine, when ipykernel's output thread flushes late)
    reply = kernel.kc.execute_interactive("answer = 6 * 7", user_expressions={"answer": "answer"}, timeout=30)
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["user_expressions"]["answer"]["data"]["text/plain"] == "42"


def test_shutdown_leaves_no_process_of_the_sandbox(kernel):
    kernel.run("import subprocess\nsubprocess.run('nohup sleep 1003 >/dev/null 2>&1 &', shell=True)")
    namespace = namespace_of(kernel.launcher)
    assert len(members(namespace)) == 3
    kernel.stop(now=False)
    assert wait_for(lambda: not members(namespace)), members(namespace)


def test_unsandboxed_kernel_keeps_todays_behaviour(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))
    kernel = Kernel("none", tmp_path, with_site=False)
    try:
        assert os.listdir(tmp_path / "work" / "jupyter" / "site") == ["kernelside"]
        result = kernel.value("import json, nn273, kernelside\nprint(json.dumps(nn273.__file__))")
        assert result == str(ROOT / "nn273" / "__init__.py")
    finally:
        kernel.stop()


def test_launcher_refuses_a_shared_runtime_folder(tmp_path, monkeypatch):
    try:
        kind = find_sandbox().kind
    except SandboxUnavailable as error:
        pytest.skip(str(error))
    (tmp_path / "someone-else.json").write_text("{}")
    monkeypatch.chdir(tmp_path)  # the launcher leaves its working folder for "/": back after the test
    monkeypatch.setenv("NN273_SITE", str(tmp_path))
    monkeypatch.setenv("NN273_SANDBOX", kind)
    with pytest.raises(SystemExit, match="must hold only that file"):
        launch([str(tmp_path / "kernel.json")])


def test_find_sandbox_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setattr(autograder.sandbox.namespaces, "TRUSTED_BIN", (str(tmp_path),))
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap") as raised:
        find_sandbox()
    assert "user namespaces" in str(raised.value) and "--no-sandbox" in str(raised.value)
    with pytest.raises(SandboxUnavailable, match=f"`bwrap` is not in {tmp_path}"):
        find_sandbox("bwrap")
    assert find_sandbox("none") == Sandbox("none")
    assert Sandbox("none").command(["python", "-c", "pass"], cwd=tmp_path) == ["python", "-c", "pass"]


# --- a submission's files never run outside the sandbox --------------------------------------------

# Each writes a marker into `markers` (a folder of the host that the sandbox does not show) if it runs:
# outside the sandbox, the write works; inside, the folder is not there.
PLANTED = (
    "autograder/__init__.py",  # `python -m autograder.launch` in the notebook's folder imported these
    "autograder/sandbox/launch.py",
    "sitecustomize.py",  # imported at startup from sys.path
    "usercustomize.py",
    "kernelside/__init__.py",
    "kernelside/boot.py",
    "numpy.py",
    "planted.pth",  # executed at startup if its folder were a site folder
    "bwrap",  # programs found through a PATH that names "." (the launcher's working folder)
    "unshare",
    "setpriv",
)


def planted_files(markers):
    files = {}
    for name in PLANTED:
        marker = str(markers / name.replace("/", "--"))
        if "." not in name:
            files[name] = f"#!/bin/sh\necho ran > {marker}\nexit 1\n"
        elif name.endswith(".pth"):  # one line, run by `site` when it starts with "import"
            files[name] = f"import os; os.path.isdir({str(markers)!r}) and open({marker!r}, 'w').write('ran')\n"
        else:
            files[name] = f"try:\n    open({marker!r}, 'w').write('ran')\nexcept OSError:\n    pass\n"
    return files


@pytest.mark.parametrize("manager", ["SandboxKernelManager", "AsyncKernelManager"])
def test_no_file_of_the_submission_runs_outside_the_sandbox(manager, tmp_path, monkeypatch):
    kind = find_sandbox().kind
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))
    monkeypatch.setenv("PATH", f".:{os.environ['PATH']}")  # a PATH that names the notebook's folder
    markers = tmp_path / "markers"
    markers.mkdir()
    if manager == "SandboxKernelManager":  # the grader's (execute.grading_kernel_manager)
        from autograder.sandbox.kernel_manager import SandboxKernelManager as cls
    else:  # nbgrader's own autograde and formgrader: the kernelspec alone must be safe
        cls = AsyncKernelManager
    try:
        kernel = Kernel(kind, tmp_path / "k", with_site=False, manager=cls, submission=planted_files(markers))
    except RuntimeError as error:  # a planted launcher that ran would not start a kernel
        kernel, result = None, error
    if kernel is not None:
        try:
            result = kernel.value("import json, os, sys\nprint(json.dumps([os.getcwd(), os.getpid()]))")
        finally:
            kernel.stop()
    ran = sorted(p.name for p in markers.iterdir())
    assert ran == [], f"these files of the submission ran outside the sandbox: {ran}"
    assert result == [str(tmp_path / "k" / "students" / "ada"), KERNEL_PID]


def test_the_kernelspec_runs_the_launcher_isolated_by_its_path(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))
    install_grader_kernel(tmp_path, sandbox="none")
    spec = json.loads((tmp_path / "jupyter" / "kernels" / "nn273-grader" / "kernel.json").read_text())
    assert spec["argv"] == [sys.executable, "-I", str(ROOT / "autograder" / "sandbox" / "launch.py"), "{connection_file}"]


# --- masked paths and a kernel without torch ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["bwrap", "unshare"])
def test_masked_folders_are_empty_and_hidden_paths_absent(kind, tmp_path):
    try:
        sandbox = find_sandbox(kind)
    except SandboxUnavailable as error:
        pytest.skip(str(error))
    secret = tmp_path / "secret"
    (secret / "inner").mkdir(parents=True)
    (secret / "inner" / "answer.py").write_text("ANSWER = 42\n")
    shelf = tmp_path / "shelf"  # read-only in the sandbox; two of its four entries hidden
    (shelf / "gone").mkdir(parents=True)
    (shelf / "kept").mkdir()
    (shelf / "gone.txt").write_text("hunter2")
    (shelf / "kept.txt").write_text("visible")
    (tmp_path / "work").mkdir()
    code = f"""
import json, os
seen = [os.listdir({str(secret)!r}), os.path.exists({str(secret / 'inner' / 'answer.py')!r}),
        sorted(os.listdir({str(shelf)!r})), open({str(shelf / 'kept.txt')!r}).read()]
for path in ({str(secret / 'new.py')!r}, {str(shelf / 'gone.txt')!r}, {str(shelf / 'kept' / 'new.py')!r}):
    try:
        open(path, "w").close()
        seen.append("written")
    except OSError:
        seen.append("refused")
print(json.dumps(seen))
"""
    argv = sandbox.command(
        [sys.executable, "-I", "-c", code], cwd=tmp_path / "work", readonly=[tmp_path],
        masked=[secret], hidden=[shelf / "gone", shelf / "gone.txt"],
    )
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [[], False, ["kept", "kept.txt"], "visible", "refused", "refused", "refused"]
    assert (secret / "inner" / "answer.py").exists() and (shelf / "gone.txt").read_text() == "hunter2"


@pytest.mark.parametrize("kind", ["bwrap", "unshare"])
def test_a_kernel_without_torch_has_no_torch_by_any_path(kind, tmp_path, monkeypatch):
    try:
        find_sandbox(kind)
    except SandboxUnavailable as error:
        pytest.skip(str(error))
    import torch

    site_packages = Path(torch.__file__).parent.parent
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))
    kernel = Kernel(kind, tmp_path, with_site=False, without=("torch",))
    try:
        result = kernel.value(f"""
            import importlib.metadata, importlib.util, json, os, sys
            import IPython, numpy as np
            site = {str(site_packages)!r}
            seen = {{"numpy": float(np.ones(3).sum()), "ipython": bool(IPython.get_ipython())}}
            def attempt(what, action):
                try:
                    action()
                    seen[what] = "worked"
                except Exception as error:
                    seen[what] = type(error).__name__
            # what the notebook's `import torch` gets there: stand-ins (kernelside/absent.py) ...
            seen["stand-in"] = type(__import__("torch")).__name__
            # ... and once a submission has removed them, nothing
            sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != "kernelside.absent"]
            for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
                del sys.modules[name]
            attempt("import", lambda: __import__("torch"))
            sys.path.insert(0, site)
            sys.path.insert(0, os.path.join(site, "torch"))
            attempt("import after sys.path", lambda: __import__("torch"))
            attempt("functorch", lambda: __import__("functorch"))
            attempt("torchgen", lambda: __import__("torchgen"))
            def by_file():
                spec = importlib.util.spec_from_file_location("torch", os.path.join(site, "torch", "__init__.py"))
                spec.loader.exec_module(importlib.util.module_from_spec(spec))
            attempt("import by file", by_file)
            attempt("metadata", lambda: importlib.metadata.version("torch"))
            attempt("write", lambda: open(os.path.join(site, "torch", "__init__.py"), "w"))
            attempt("listing", lambda: os.listdir(os.path.join(site, "torch")))
            seen["lib"] = os.path.exists(os.path.join(site, "torch", "lib"))
            print(json.dumps(seen))
        """)
    finally:
        kernel.stop()
    assert result == {
        "numpy": 3.0,
        "ipython": True,
        "stand-in": "_AbsentModule",
        "import": "ModuleNotFoundError",
        "import after sys.path": "ModuleNotFoundError",
        "functorch": "ModuleNotFoundError",
        "torchgen": "ModuleNotFoundError",
        "import by file": "FileNotFoundError",
        "metadata": "PackageNotFoundError",
        "write": "FileNotFoundError",
        "listing": "FileNotFoundError",
        "lib": False,
    }


def test_a_kernel_without_a_package_needs_a_sandbox(tmp_path):
    with pytest.raises(ValueError, match="needs a sandbox"):
        install_grader_kernel(tmp_path, sandbox="none", without=("torch",))
    with pytest.raises(ValueError, match="Masking or hiding paths needs a sandbox"):
        Sandbox("none").command(["true"], cwd=tmp_path, masked=[tmp_path])
