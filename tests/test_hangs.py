"""Every wait of the grader on a kernel ends: what a hostile kernel sends (a flood of messages, a reply
one byte at a time, a JSON bomb, one huge message) costs a judged cell its limit plus a bounded grace
and the grader little memory, in whatever thread it judges; the next notebook is graded as usual.

The kernels are real grading kernels of the toy course (tests/toycourse.py), sandboxed and started
as `check` starts them (JudgedExecute.session). `pytest tests/test_hangs.py -s` prints each figure.
"""

import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.config import judged_config, nbgrader_config
from autograder.sandbox.kernelspec import grader_kernel, install_grader_kernel
from autograder.course import ROOT
from autograder.judging.execute import JudgedExecute
from autograder.sandbox.site import write_site
from autograder.sandbox import SandboxUnavailable, find_sandbox
from toycourse import TOY, make_toy_course, toy_notebook, with_cells

TIMEOUT = 5  # seconds per cell
# What a judged cell may take at most: its limit, a reply's grace (judge.REPLY_GRACE, 5 s), the wait
# for the kernel to end the cell (judge.FINISH_LIMIT, 10 s), and a margin for a busy machine.
BOUND = TIMEOUT + 5 + 10 + 10
PATIENCE = 180  # seconds a judged cell is given in a thread before the test calls it hung


@dataclass
class Grading:
    config: object
    root: Path


@pytest.fixture(scope="module")
def grading(tmp_path_factory):
    try:
        box = find_sandbox("auto")
    except SandboxUnavailable as error:
        pytest.skip(f"a sandboxed grading kernel (ipc transport) is needed: {error}")
    root = tmp_path_factory.mktemp("hangs")
    course = make_toy_course(root / "course")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))  # install_grader_kernel adds to it
        site = write_site(root / "site", TOY, course)
        install_grader_kernel(root / "kernel", memory_mb=2048, site=site, sandbox=box, name=grader_kernel(TOY))
        config = nbgrader_config(course, workdir=root / "kernel", timeout=TIMEOUT)
        judged_config(config, course, sandboxed=box.isolated, runtime_root=root)
        yield Grading(config, root)


@contextmanager
def kernel(grading, **sources):
    """A judged session of the toy notebook with the cells of `sources` replaced, whose kernel cells
    (imports, functions) have run; judge a test with `client.judge(grade_id)`."""
    nb = with_cells(toy_notebook(), **{k: textwrap.dedent(v) for k, v in sources.items()})
    folder = grading.root / f"nb-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    client = JudgedExecute(config=grading.config)
    with client.session(nb, TOY, folder):
        for index, cell in enumerate(client.nb.cells):
            if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"):
                client.preprocess_cell(cell, client.resources, index)
        yield client


def judged_in_a_thread(client, grade_id):
    """Judge `grade_id` in a thread that is not the main one (as Dask's workers do): (its outputs,
    seconds taken). A judge still waiting after PATIENCE seconds fails the test; its kernel is then
    killed so that the thread ends."""
    result = {}

    def run():
        start = time.monotonic()
        try:
            result["outputs"] = client.judge(grade_id)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            result["error"] = exc
        result["seconds"] = time.monotonic() - start

    worker = threading.Thread(target=run, name="judge")
    worker.start()
    worker.join(PATIENCE)
    if worker.is_alive():
        client.km.provisioner.process.kill()
        worker.join(60)
        pytest.fail(f"judging {grade_id} was still waiting on the kernel after {PATIENCE} s")
    if "error" in result:
        raise result["error"]
    return result["outputs"], result["seconds"]


def errors(outputs):
    return [o["ename"] for o in outputs if o.get("output_type") == "error"]


def assert_an_honest_notebook_is_graded(grading):
    with kernel(grading) as client:
        for test in ("test_double", "hidden_double", "test_square", "hidden_square"):
            outputs, seconds = judged_in_a_thread(client, test)
            assert errors(outputs) == [] and seconds < 10, (test, outputs, seconds)


FLOOD = """
    import sys, threading, time

    def _flood(seconds=300, switch=1.0):  # freshly signed messages on IOPub, as fast as they go
        sys.setswitchinterval(switch)  # 1 s: the kernel's main thread gets Python's lock 1 s in 2 at best
        kernel = get_ipython().kernel
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            kernel.session.send(kernel.iopub_socket, "stream", {"name": "stdout", "text": "flood\\n"})

    def double(x):
        threading.Thread(target=_flood, daemon=True).start()
        {body}
"""


# The student's cell replaces the kernel's agent: when a test starts it, it starts the flood, and
# connects later than the 0.5 s the grader waits before it reads the kernel's output for its end.
# (A flood started by the cell itself costs that cell nbclient's iopub_timeout, and the notebook its
# grades: nbgrader's rule, execute.JudgedExecute.iopub_timeout.)
FLOOD_BY_THE_AGENT = FLOOD.replace("{body}", "return 2 * np.asarray(x)") + """
    import kernelside.agent as _agent

    def _slow_serve(path, _serve=_agent.serve):
        if not any(t.name == "flood" for t in threading.enumerate()):
            threading.Thread(target=_flood, kwargs={"switch": 0.005}, name="flood", daemon=True).start()
        time.sleep(1)
        _serve(path)

    _agent.serve = _slow_serve
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "case, source",
    [
        ("by the call, which returns", FLOOD.replace("{body}", "return 2 * np.asarray(x)")),  # the test passes
        ("by the call, which floods too", FLOOD.replace("{body}", "_flood()")),  # the call never returns
        ("by the agent, slow to connect", FLOOD_BY_THE_AGENT),
    ],
    ids=["call-returns", "call-floods", "slow-agent"],
)
def test_an_iopub_flood_during_a_judged_cell_ends_within_its_limit(grading, case, source):
    with kernel(grading, double=source) as client:
        outputs, seconds = judged_in_a_thread(client, "hidden_double")
        print(f"\nIOPub flood ({case}): the judged cell ended after {seconds:.1f} s with {errors(outputs) or 'no error'}")
        assert seconds < BOUND
        if case.endswith("floods too"):
            assert errors(outputs) == ["CellTimeoutError"]
        outputs, seconds = judged_in_a_thread(client, "hidden_square")  # the flood still runs
        print(f"  the next judged cell, in the flood: {seconds:.1f} s, {errors(outputs) or 'no error'}")
        assert seconds < BOUND
    assert_an_honest_notebook_is_graded(grading)


DRIP = """
    def double(x):  # answers the grader itself: a reply of 1000 bytes, one every 2 s
        import sys, time
        line = sys.modules["kernelside.agent"]._line
        line.sendall((1000).to_bytes(8, "big"))
        for _ in range(1000):
            line.sendall(b" ")
            time.sleep(2)
"""


@pytest.mark.slow
def test_a_reply_one_byte_every_2_s_ends_at_the_cells_limit_in_a_thread(grading):
    with kernel(grading, double=DRIP) as client:
        outputs, seconds = judged_in_a_thread(client, "hidden_double")
        print(f"\nslow-drip reply, judged in a thread: the cell ended after {seconds:.1f} s with {errors(outputs)}")
        assert errors(outputs) == ["CellTimeoutError"]
        assert seconds < TIMEOUT + 5 + 10
    assert_an_honest_notebook_is_graded(grading)


BOMB_RECEIVER = """
import os, resource, socket, sys, time
from autograder.kernelside import wire

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024

grader, kernel = socket.socketpair()
if os.fork() == 0:  # the kernel: builds the bomb in its own memory, sends it as the agent does
    try:
        grader.close()
        unit = sys.argv[1].encode()
        items = (unit + b",") * ((256 * 2**20 - 20) // (len(unit) + 1))
        parts = [b'{"outcome":"[', items, unit + b']"}']
        kernel.sendall(sum(map(len, parts)).to_bytes(8, "big"))
        for part in parts:
            kernel.sendall(part)
    finally:
        os._exit(0)
kernel.close()
baseline = peak_mb()
start = time.monotonic()
try:
    outcome = wire.decode(wire.receive(grader)["outcome"])
    verdict = f"decoded {len(outcome)} values"
except wire.WireError as exc:
    verdict = f"refused: {exc}"
except MemoryError:
    verdict = "MemoryError"
print(f"{baseline:.0f} {peak_mb():.0f} {time.monotonic() - start:.1f} {verdict}")
"""


@pytest.mark.parametrize("unit", ["[]", "[[[[[[[[]]]]]]]]"])
def test_a_json_bomb_costs_the_grader_little_memory(unit):
    """256 MiB of '[[],[],...]' (and of nested lists), received and decoded as the grader does, in a
    process of its own (its address space capped at 2 GiB, so that the machine is safe either way)."""

    def cap():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))

    done = subprocess.run(
        [sys.executable, "-c", BOMB_RECEIVER, unit],
        capture_output=True, text=True, timeout=300, preexec_fn=cap, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    baseline, peak, seconds, verdict = done.stdout.split(maxsplit=3)
    print(f"\nJSON bomb of {unit!r}: the grader's peak memory {peak} MB (baseline {baseline} MB), {seconds} s, {verdict.strip()}")
    assert verdict.startswith("refused") and "JSON values" in verdict
    assert float(peak) < 500 and float(peak) - float(baseline) < 200


def peak_rss_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def reset_peak_rss():
    """Make VmHWM the current RSS (Linux >= 4.0), so what follows is measured on its own."""
    Path("/proc/self/clear_refs").write_text("5")


HUGE = 100 * 2**20  # bytes of one message, far beyond judge.MAX_MESSAGE (32 MiB)
SHOW_HUGE = f"""
    from IPython.display import display
    display({{"text/plain": "x" * {HUGE}}}, raw=True)
"""


@pytest.mark.slow
def test_a_message_larger_than_the_cap_is_not_read_and_grading_goes_on(grading):
    """One 100 MiB display_data, in a kernel cell (nbclient's client) and during a judged call
    (KernelLink's): the connection that would carry it is dropped unread (the client reconnects)."""
    huge_double = "def double(x):\n" + textwrap.indent(textwrap.dedent(SHOW_HUGE), "    ") + "    return 2 * np.asarray(x)\n"
    with kernel(grading, double=huge_double) as client:
        client.iopub_timeout = 5  # nbclient's wait for a cell's output after its reply (grading: 20 s)
        reset_peak_rss()
        before = peak_rss_mb()
        cell = nbformat.v4.new_code_cell(textwrap.dedent(SHOW_HUGE))
        client.nb.cells.append(cell)  # a cell of the student's own, at the end
        start = time.monotonic()
        try:
            client.preprocess_cell(cell, client.resources, len(client.nb.cells) - 1)
            outcome = f"outputs {[o.get('output_type') for o in cell.outputs]}"
        except Exception as exc:  # noqa: BLE001 (nbclient's verdict on a cell whose output was lost)
            outcome = f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
        kernel_cell = time.monotonic() - start
        outputs, judged = judged_in_a_thread(client, "hidden_double")  # the function shows it too
        grown = peak_rss_mb() - before
        print(
            f"\n100 MiB IOPub message: kernel cell ended after {kernel_cell:.1f} s ({outcome}); judged cell "
            f"{judged:.1f} s ({errors(outputs) or 'no error'}); the grader's peak memory grew {grown:.0f} MB"
        )
        assert kernel_cell < TIMEOUT + client.iopub_timeout + 10
        assert judged < BOUND
        assert "x" * 1000 not in str(cell.outputs) + str(outputs)
        assert grown < 100
        outputs, seconds = judged_in_a_thread(client, "hidden_square")  # the link still works
        assert errors(outputs) == [] and seconds < BOUND, outputs
    assert_an_honest_notebook_is_graded(grading)
