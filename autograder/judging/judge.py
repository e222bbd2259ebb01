"""The grader's half of judged grading: test cells run here, student functions run in the kernel.

While a submission is graded, each test cell (visible and hidden) is executed in the grader's own
process, in a namespace where every graded function of the notebook is a `Proxy`. Calling a proxy
sends the arguments to the student's kernel as plain data (`wire`), where `kernelside.agent` calls
the student's function and sends back the result, also as plain data. What a submission does inside
its kernel (patching numpy, the test helpers, builtins or IPython) therefore cannot reach a verdict:
the comparisons, the oracles and the error that scores a cell zero all happen here.

- A value that is not plain data stays in the kernel and arrives as a `KernelObject`, which can be
  called, passed back, iterated and asked for public attributes, and is never converted to numbers.
- A function passed to a student's function (numerical_gradient's `f`) stays here too: the kernel
  calls back over the kernel's stdin channel and this process evaluates it.
- The deadline of a cell covers all its calls; past it the kernel is interrupted and the cell fails
  with CellTimeoutError. A dead kernel raises DeadKernelError, as nbclient does.
- Every wait on the kernel has an absolute deadline, in whatever thread it runs (Dask runs tasks in
  threads), and is not reset by what arrives: a kernel that sends a byte at a time, or floods its
  output with messages, holds a judged cell for its limit plus a bounded grace, not longer. The
  clients of a grading kernel (`CappedKernelClient`, and `CappedAsyncKernelClient` for nbclient)
  refuse messages larger than MAX_MESSAGE before reading them into memory.
"""

import builtins
import contextlib
import ctypes
import inspect
import io
import linecache
import os
import queue
import re
import select
import socket
import threading
import time
import traceback
import warnings

import numpy as np
import zmq
import zmq.asyncio
from jupyter_client import AsyncKernelClient, BlockingKernelClient
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_output
from traitlets import default

from ..kernelside import wire

__all__ = [
    "CappedAsyncKernelClient",
    "CappedKernelClient",
    "CellTimeout",
    "KernelLink",
    "KernelObject",
    "Proxy",
    "judge_source",
    "remote_facts",
]

MAX_TEXT = 100_000  # characters of printed text kept per cell
WATCHDOG_GRACE = 10.0  # seconds past a cell's deadline after which the test itself is stopped
REPLY_GRACE = 5.0  # seconds past a cell's deadline for a reply (or a request) to cross whole
FINISH_LIMIT = 10.0  # seconds for the kernel to end a judged cell's serving, interrupts included
INTERRUPT_AFTER = 3.0  # seconds of that before each interrupt
UNJUDGED_LIMIT = 60.0  # seconds for a request made outside a judged cell (which sets a deadline)
# One part of a message from a grading kernel, in bytes: larger ones end the connection before they
# are read (zmq's MAXMSGSIZE; the client reconnects and what the kernel sent meanwhile is lost). The
# largest output of the course's notebooks is 0.2 MB and a kernel cell keeps 1 MB of output.
MAX_MESSAGE = 32 * 2**20
# Complete messages a socket of the grader holds before it stops reading (zmq's RCVHWM, 1000 by
# default): with MAX_MESSAGE, what a kernel's messages can take of the grader's memory per socket.
# The kernel keeps what waits beyond it (and a kernel's PUB drops it past its own 1000).
MESSAGE_QUEUE = 16


class CellTimeout(BaseException):
    """The cell's time is up (BaseException: a test's `except Exception` must not swallow it)."""


class KernelError(Exception):
    """Base of the exceptions raised here for an exception raised by student code in the kernel."""

    kernel_traceback = ""


_ERROR_CLASSES = {}


def _error_class(kernel_type, bases):
    """A local exception class named like the kernel's and deriving from its nearest builtin."""
    name = kernel_type if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,59}", kernel_type or "") else "Exception"
    base = Exception
    for candidate in [kernel_type, *bases]:
        found = getattr(builtins, str(candidate), None)
        if isinstance(found, type) and issubclass(found, Exception):
            base = found
            break
    key = (name, base)
    if key not in _ERROR_CLASSES:
        # KernelError derives from Exception: put first, Exception itself would break the MRO
        bases = (KernelError,) if base is Exception else (base, KernelError)
        _ERROR_CLASSES[key] = type(name, bases, {"__module__": "kernel"})
    return _ERROR_CLASSES[key]


def _capped(context):
    """`context`, whose sockets refuse messages larger than MAX_MESSAGE and queue MESSAGE_QUEUE (the
    options are set on each socket the context makes, before it connects)."""
    context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
    context.setsockopt(zmq.RCVHWM, MESSAGE_QUEUE)
    return context


class CappedKernelClient(BlockingKernelClient):
    """A blocking kernel client whose sockets refuse messages larger than MAX_MESSAGE (KernelLink's)."""

    @default("context")
    def _capped_context(self):
        self._created_context = True  # the client destroys it when it is done, as it does its own
        return _capped(zmq.Context())


class CappedAsyncKernelClient(AsyncKernelClient):
    """nbclient's kernel client, with the same caps (`execute.grading_kernel_manager` hands it out)."""

    @default("context")
    def _capped_context(self):
        self._created_context = True
        return _capped(zmq.asyncio.Context())


class KernelLink:
    """The grader's line to one grading kernel, whose manager is `km`.

    While a test cell is judged, the kernel's agent serves requests over a unix socket beside the
    kernel's connection file (`_serving`); a blocking client of the same kernel starts that serving
    cell and collects what the student's code printed meanwhile (`finish`).
    """

    def __init__(self, km):
        self.km = km
        self.kc = CappedKernelClient()
        self.kc.load_connection_info(km.get_connection_info(session=False))
        self.kc.start_channels()
        self.deadline = None
        self.printed = []  # text the student's code printed during calls of the current cell
        self._printed_size = 0
        self.forbid_asked = {}  # function name -> module names a test asked it not to call
        self.evidence = []  # (function, what the kernel saw it call) from run-time checks
        self._in_callback = False
        self._line, self._serve_id, self._serial = None, None, 0
        # The notebook's NumPy-only kernel (autograder/judging/numpy_kernel.py), where calls that must not
        # use torch are made; None: every call is made here.
        self.numpy = None

    def close(self):
        with contextlib.suppress(Exception):
            self.finish()
        with contextlib.suppress(Exception):
            self.kc.stop_channels()

    # ----------------------------------------------------------------------------------- calls
    def request(self, op, target, args=(), kwargs=None, attr=None, guard=None):
        """Send one request and return the outcome dict (decoded plain data)."""
        if self._in_callback:
            raise RuntimeError("a function passed to a student's function cannot call back into the kernel")
        if self.deadline is None:  # not in a judged cell: the request has a deadline of its own
            self.deadline = time.monotonic() + UNJUDGED_LIMIT
            try:
                return self.request(op, target, args, kwargs, attr, guard)
            finally:
                self.deadline = None
        callbacks = []

        def outgoing(value):
            if isinstance(value, KernelObject):
                if value._link is not self:
                    raise TypeError("a kernel object of another kernel cannot be sent")
                return {"t": "handle", "id": value._id, "type": value._type}
            if isinstance(value, Proxy):
                raise TypeError(f"a student function ({value._name}) cannot be passed to another one while grading")
            if callable(value):
                callbacks.append(value)
                return {"t": "callback", "id": len(callbacks) - 1}
            raise TypeError(f"cannot send a {type(value).__name__} to the kernel")

        message = {
            "op": op,
            "args": wire.encode(list(args), other=outgoing),
            "kwargs": wire.encode(dict(kwargs or {}), other=outgoing),
            "guard": guard or {},
        }
        message.update(target)
        if attr is not None:
            message["attr"] = attr
        text = self._exchange(message, callbacks)
        try:
            outcome = wire.decode(text, handle=lambda key, kind: KernelObject(self, key, kind))
        except wire.WireError as exc:
            return _failure(f"the kernel's result is not plain data: {exc}")
        if not isinstance(outcome, dict) or outcome.get("status") not in ("ok", "raised"):
            return _failure("the kernel's result is malformed")
        return outcome

    # ------------------------------------------------------------------------- the agent's line
    def _exchange(self, message, callbacks):
        """Send one request to the serving agent, answer its callbacks, return the outcome text."""
        line = self._serving()
        self._send(line, message)
        while True:
            reply = self._receive(line)
            if "callback" in reply:
                self._send(line, self._evaluate(reply, callbacks))
                continue
            outcome = reply.get("outcome")
            if not isinstance(outcome, str):
                raise wire.WireError("the kernel's reply holds no outcome")
            return outcome

    def _serving(self):
        """The socket to the agent, serving in the kernel: started for the first call of a cell."""
        if self._line is not None:
            return self._line
        self._serial += 1
        path = os.path.join(os.path.dirname(self.km.connection_file), f"agent-{self._serial}.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        code = f"__import__('kernelside.agent', fromlist=['serve']).serve({path!r})"
        # What the kernel printed before (kernel cells, that nbclient read) is not wanted: read it
        # now, so that this serving's output finds room in the client's queue (MESSAGE_QUEUE).
        self._idle(None, time.monotonic() + 0.2)
        self._serve_id = self.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        try:
            while True:
                listener.settimeout(min(max(self._remaining(), 0.01), 0.5))
                try:
                    self._line, _ = listener.accept()
                    break
                except TimeoutError:
                    self._check_time_and_life()
                    if self._idle(self._serve_id, time.monotonic() + 0.1):  # the cell ended without connecting
                        raise DeadKernelError("the kernel's agent did not answer (kernelside is missing or broken)")
        finally:
            listener.close()
            os.unlink(path)
        return self._line

    def _send(self, line, message):
        try:
            wire.send(line, message, deadline=self.deadline + REPLY_GRACE)
        except TimeoutError:  # a kernel that does not read what it asked for
            self._interrupt()
            raise CellTimeout() from None

    def _receive(self, line):
        """The agent's next message; waits in short steps so the deadline and a dead kernel are seen.

        A message, once begun, must arrive whole by REPLY_GRACE past the cell's deadline, however
        slowly it comes; one that breaks the encoding ends the line (it is out of step)."""
        while True:
            ready, _, _ = select.select([line], [], [], min(max(self._remaining(), 0.01), 0.5))
            if not ready:
                self._check_time_and_life()
                continue
            try:
                reply = wire.receive(line, deadline=self.deadline + REPLY_GRACE)
            except TimeoutError:
                self._interrupt()
                raise CellTimeout() from None
            except (OSError, wire.WireError):
                self._drop_line()
                self._check_time_and_life()
                raise
            if reply is None:
                self._line = None
                end = time.monotonic() + 3  # a kernel that exited closes the line first: let it go
                while time.monotonic() < end and self._alive():
                    time.sleep(0.05)
                if not self._alive():
                    raise DeadKernelError("the kernel died while a test called the student's code")
                raise wire.WireError("the kernel closed the line to the grader")
            return reply

    def _drop_line(self):
        if self._line is not None:
            self._line.close()
            self._line = None

    def _check_time_and_life(self):
        if self._remaining() <= 0:
            self._interrupt()
            raise CellTimeout()
        if not self._alive():
            raise DeadKernelError("the kernel died while a test called the student's code")

    def finish(self):
        """End the agent's serving (at the end of a judged cell) and wait until the kernel is idle,
        FINISH_LIMIT seconds at most in all, interrupting it every INTERRUPT_AFTER seconds; returns
        what the student's code printed meanwhile (in the NumPy-only kernel too). A kernel still busy
        then (or whose idle was lost in a flood of its messages) is left to the limits of the cells
        that follow."""
        elsewhere = self.numpy.finish() if self.numpy is not None else ""
        return self._finish() + elsewhere

    def _finish(self):
        if self._line is not None:
            with contextlib.suppress(OSError):
                wire.send(self._line, {"op": "stop"}, deadline=time.monotonic() + 1.0)
            self._drop_line()
        if self._serve_id is not None and not self._alive():  # a dead kernel: nothing to wait for
            self._serve_id = None
        if self._serve_id is not None:
            end = time.monotonic() + FINISH_LIMIT
            while not self._idle(self._serve_id, min(end, time.monotonic() + INTERRUPT_AFTER)):
                if time.monotonic() >= end or not self._alive():
                    break
                self._interrupt()  # a student's code that keeps the kernel busy
            self._serve_id = None
        return self.take_printed()

    def _idle(self, msg_id, until):
        """Read the kernel's output for msg_id until it is idle (True) or the time.monotonic() value
        `until` passes (False), however many messages keep arriving; msg_id None reads and drops."""
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.0, until - time.monotonic()))
            except queue.Empty:
                return False
            except Exception:  # noqa: BLE001 (a message that does not deserialize is skipped)
                msg = {}
            parent = msg.get("parent_header") if isinstance(msg, dict) else None
            content = msg.get("content") if isinstance(msg, dict) else None
            if msg_id is not None and isinstance(parent, dict) and parent.get("msg_id") == msg_id and isinstance(content, dict):
                kind = msg.get("msg_type")
                if kind == "stream":
                    self._print(str(content.get("text", "")))
                elif kind == "status" and content.get("execution_state") == "idle":
                    return True
            if time.monotonic() >= until:
                return False

    def _evaluate(self, ask, callbacks):
        """Evaluate a grader function the kernel asked for; the reply to send back."""
        try:
            fn = callbacks[int(ask["callback"])]
            args, kwargs = wire.decode(ask.get("args")), wire.decode(ask.get("kwargs"))
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise wire.WireError("arguments must be a list and a dict")
            self._in_callback = True
            try:
                value = fn(*args, **kwargs)
            finally:
                self._in_callback = False
            return {"status": "ok", "value": wire.encode(value)}
        except CellTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 (the kernel's code gets the failure as an exception)
            return {"status": "error", "message": f"{type(exc).__name__}: {exc}"[:2000]}

    def _print(self, text):
        if self._printed_size < MAX_TEXT:
            keep = text[: MAX_TEXT - self._printed_size]
            self.printed.append(keep)
            self._printed_size += len(keep)

    def take_printed(self):
        text = "".join(self.printed)
        truncated = self._printed_size >= MAX_TEXT
        self.printed, self._printed_size = [], 0
        return text + ("\n[... more output from your code was cut ...]\n" if truncated else "")

    def _remaining(self):
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def _alive(self):
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        return process is None or process.poll() is None

    def _interrupt(self):
        """Interrupt the kernel: the student's code gets a KeyboardInterrupt."""
        self._drop_line()
        with contextlib.suppress(Exception):
            if inspect.iscoroutinefunction(self.km.interrupt_kernel):
                run_sync(self.km.interrupt_kernel)()
            else:
                self.km.interrupt_kernel()


class KernelObject:
    """A value that stayed in the kernel: callable, iterable, with public attributes, no numbers."""

    def __init__(self, link, key, kind):
        self._link, self._id, self._type = link, key, kind

    def __repr__(self):
        return f"<{self._type} in the student's kernel>"

    def __getattr__(self, name):
        if name.startswith("_"):  # never ask the kernel for protocols (__array_interface__, ...)
            raise AttributeError(name)
        return _value(self._link.request("getattr", {"handle": self._id}, attr=name), f"{self._type}.{name}")

    def __call__(self, *args, **kwargs):
        outcome = self._link.request("call", {"handle": self._id}, args, kwargs, guard=_guard(args))
        return _value(_dicts_back(args, outcome), self._type)

    def __iter__(self):
        return iter(_value(self._link.request("iter", {"handle": self._id}), f"iterating a {self._type}"))

    def __len__(self):
        n = _value(self._link.request("len", {"handle": self._id}), f"len of a {self._type}")
        if type(n) is not int or n < 0:
            raise TypeError(f"len of a {self._type} must be a non-negative int")
        return n

    def __bool__(self):
        raise TypeError(f"a {self._type} from the student's kernel has no truth value in a test")

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__

    def facts(self, args, kwargs, forbid=(), require=(), name=None, updates=()):
        return remote_facts(self._link, {"handle": self._id}, args, kwargs, forbid, require, name or self._type, updates)

    def facts_many(self, calls, forbid=(), require=(), name=None):
        return remote_facts_many(self._link, {"handle": self._id}, calls, forbid, require, name or self._type)


class Proxy:
    """A graded function of the notebook, called in the student's kernel."""

    def __init__(self, link, name):
        self._link, self._name = link, name
        self.__name__ = name

    def __repr__(self):
        return f"<student function {self._name}>"

    def __call__(self, *args, **kwargs):
        outcome = self._link.request("call", {"name": self._name}, args, kwargs, guard=_guard(args))
        return _value(_dicts_back(args, outcome), self._name)

    def facts(self, args, kwargs, forbid=(), require=(), name=None, updates=()):
        return remote_facts(self._link, {"name": self._name}, args, kwargs, forbid, require, self._name, updates)

    def facts_many(self, calls, forbid=(), require=(), name=None):
        return remote_facts_many(self._link, {"name": self._name}, calls, forbid, require, self._name)


def remote_facts(link, target, args, kwargs, forbid, require, name, updates=()):
    """guard.guarded_call's facts, for a call made in the kernel (see autograder/kernelside/guard.py);
    "updated" holds the arguments at positions `updates` as the call left them in the kernel. A call
    that must not use torch is made in the notebook's NumPy-only kernel (`_without_torch`)."""
    guard = {"errstate": np.geterr(), "forbid": sorted(forbid), "require": sorted(require), "inputs": True,
             "updates": [int(i) for i in updates]}
    if forbid:
        link.forbid_asked.setdefault(name, set()).update(forbid)
    where, refused = _without_torch(link, target, forbid, name)
    if refused is not None:
        return _facts(link, name, refused)
    return _facts(link, name, where.request("call", target, args, kwargs, guard=guard))


def remote_facts_many(link, target, calls, forbid, require, name):
    """`remote_facts` of each (args, kwargs) of `calls`, made one after another in the kernel in one
    request (one round trip for all: central differences of a student's own function)."""
    guard = {"errstate": np.geterr(), "forbid": sorted(forbid), "require": sorted(require), "inputs": True}
    if forbid:
        link.forbid_asked.setdefault(name, set()).update(forbid)
    where, refused = _without_torch(link, target, forbid, name)
    if refused is not None:
        return [_facts(link, name, refused)] * len(calls)
    outcome = where.request("calls", target, [[list(a), dict(k)] for a, k in calls], guard=guard)
    outcomes = outcome.get("outcomes") if outcome.get("status") == "ok" else None
    if not isinstance(outcomes, list) or len(outcomes) != len(calls) or not all(isinstance(o, dict) and "status" in o for o in outcomes):
        failed = outcome if outcome.get("status") == "raised" else _failure("the kernel did not answer every call of a batch")
        outcomes = [failed] * len(calls)
    return [_facts(link, name, o) for o in outcomes]


def _without_torch(link, target, forbid, name):
    """(the link to make a call on, None): the NumPy-only kernel's for a graded function when
    `forbid` holds torch, else `link` itself; (None, outcome) when the call cannot be made there
    (the outcome says why, and fails the call). What a call shows of a broken rule stays `link`'s
    evidence either way."""
    from .numpy_kernel import needs_numpy_kernel

    if getattr(link, "numpy", None) is None or "name" not in target or not needs_numpy_kernel(forbid):
        return link, None
    other = link.numpy.link(link.deadline)
    if other is None:
        return None, _failure(f"{name} could not be called without torch: {link.numpy.broken}")
    return other, None


def _facts(link, name, outcome):
    facts = {
        "value": outcome.get("value"),
        "exception": _exception(outcome, name) if outcome["status"] == "raised" else None,
        "warnings": _pairs(outcome.get("warnings")),
        "forbidden": [str(x)[:300] for x in (outcome.get("forbidden") or [])][:5],
        "required": outcome.get("required") is True,
        "modified": outcome.get("modified") if isinstance(outcome.get("modified"), str) else None,
        "updated": outcome.get("updated") if isinstance(outcome.get("updated"), list) else [],
    }
    if facts["forbidden"]:
        link.evidence.append((name, facts["forbidden"][0]))
    return facts


def _failure(message):
    return {"status": "raised", "type": "RuntimeError", "bases": [], "message": message, "traceback": ""}


def _pairs(items):
    pairs = []
    for item in items or []:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            pairs.append((str(item[0])[:60], str(item[1])[:1000]))
    return pairs[:20]


def _guard(args=()):
    """What a plain call inherits from the test around it: NumPy's error state; and the dicts among
    its arguments come back as the call left them (`_dicts_back`)."""
    return {"errstate": np.geterr(), "updates": [i for i, a in enumerate(args) if type(a) is dict]}


def _dicts_back(args, outcome):
    """A plain call passes its dict arguments by reference, as Python does: each of the test's dicts
    gets the items its copy in the kernel was left with (batchnorm's running statistics)."""
    updated = outcome.get("updated") if outcome.get("status") == "ok" else None
    if isinstance(updated, list):
        for i, new in zip((i for i, a in enumerate(args) if type(a) is dict), updated):
            if isinstance(new, dict):
                args[i].clear()
                args[i].update(new)
    return outcome


def _exception(outcome, name):
    cls = _error_class(str(outcome.get("type", "Exception")), [str(b) for b in outcome.get("bases") or []])
    exc = cls(str(outcome.get("message", ""))[:2000])
    exc.kernel_traceback = str(outcome.get("traceback", ""))[-6000:]
    return exc


def _value(outcome, name):
    """The value of a plain call: the student's exception is raised, warnings are issued here."""
    if outcome["status"] == "raised":
        raise _exception(outcome, name)
    for category, message in _pairs(outcome.get("warnings")):
        kind = getattr(builtins, category, None)
        kind = kind if isinstance(kind, type) and issubclass(kind, Warning) else RuntimeWarning
        warnings.warn(f"{name}: {message}", kind, stacklevel=3)
    return outcome.get("value")


# ----------------------------------------------------------------------------- judging a cell
def judge_source(source, namespace, link, name, timeout, answers=()):
    """Execute a trusted test cell's source here; returns its nbformat outputs.

    The cell fails (an error output, so nbgrader scores it zero) when it raises, and writes to stderr
    when a warning is shown, as a kernel would; the student's printed text is kept as stdout.
    answers: names of answers (`answer_<name> = ...` in the notebook) that the test reads; each is
    fetched from the kernel first, as plain data (or a KernelObject), and is undefined here when the
    kernel has none.
    """
    filename = f"<test cell {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    out, err = io.StringIO(), io.StringIO()
    error = None
    link.deadline = time.monotonic() + timeout
    # The test's own code is ours, but no run may hang on it: a watchdog past the deadline, in
    # whatever thread judges (grade's workers judge in their main thread, Dask's in others).
    watchdog = _Watchdog(timeout + WATCHDOG_GRACE)
    try:
        try:
            code = compile(source, filename, "exec")
            for answer in answers:
                _fetch_answer(link, namespace, answer)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
                warnings.simplefilter("default")
                exec(code, namespace)  # noqa: S102 (the instructor's own test code)
        finally:
            watchdog.disarm()  # raises here the CellTimeout it fired, if not raised yet
    except CellTimeout:
        error = _timeout_output(timeout)
    except DeadKernelError:
        raise
    except BaseException as exc:  # noqa: BLE001 (any failure of a test scores zero)
        if isinstance(exc, KeyboardInterrupt):
            raise
        error = _error_output(exc, filename)
    finally:
        link.deadline = None
        kernel_printed = link.finish()
    outputs = []
    printed = out.getvalue()[:MAX_TEXT] + kernel_printed
    if printed:
        outputs.append(new_output("stream", name="stdout", text=printed))
    if err.getvalue():
        outputs.append(new_output("stream", name="stderr", text=err.getvalue()[:MAX_TEXT]))
    if error is not None:
        outputs.append(error)
    return outputs


def _fetch_answer(link, namespace, name):
    """Bind `name` in the test's namespace to the kernel's current value of it, or unbind it."""
    outcome = link.request("value", {"name": name})
    if outcome["status"] == "ok":
        namespace[name] = outcome.get("value")
    else:
        namespace.pop(name, None)


class _Watchdog:
    """Raises CellTimeout in the thread that made it, `seconds` from now, unless disarmed first.

    A timer thread raises it asynchronously (PyThreadState_SetAsyncExc), so it works in any thread,
    unlike SIGALRM (main thread only); the exception arrives at the judging thread's next Python
    instruction (a wait in C, such as select, ends first: every wait here is bounded).
    """

    def __init__(self, seconds):
        self._thread = threading.get_ident()
        self._lock = threading.Lock()
        self._armed, self._fired = True, False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self):
        with self._lock:
            if self._armed:
                self._fired = True
                _async_raise(self._thread, CellTimeout)

    def disarm(self):
        """Stop the timer; if it fired, raise its CellTimeout now (once, whether or not it was
        already delivered), never later in code after the cell."""
        self._timer.cancel()
        with self._lock:
            self._armed = False
            if self._fired:
                _async_raise(self._thread, None)  # clears it if it is still pending
        if self._fired:
            raise CellTimeout()


def _async_raise(thread_id, exception):
    """Make `exception` (a class) pending in the thread `thread_id`; None clears a pending one."""
    target = ctypes.py_object(exception) if exception is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), target)


def _error_output(exc, filename):
    """The error as a student should see it: the test cell's own lines, then the message.

    Frames of the grader's modules (hidden tests, oracles) are left out; the student's traceback
    from the kernel is shown where the error came from there.
    """
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = [f"  in the test, line {f.lineno}: {(f.line or '').strip()}" for f in frames]
    ename = type(exc).__name__
    evalue = str(exc)
    tb = [f"{ename}: {evalue}"] if not lines else ["Traceback (the test):", *lines, f"{ename}: {evalue}"]
    kernel_tb = getattr(exc, "kernel_traceback", "") or getattr(exc.__cause__, "kernel_traceback", "")
    if kernel_tb:
        tb += ["", "In your code (in the kernel):", kernel_tb.rstrip()]
    return new_output("error", ename=ename, evalue=evalue, traceback=tb)


def _timeout_output(timeout):
    message = f"this cell ran longer than the {timeout:g} s limit per cell and was stopped"
    return new_output(
        "error",
        ename="CellTimeoutError",
        evalue=message,
        traceback=[f"CellTimeoutError: {message}. Look for an endless loop, or work that grows too fast with the input size."],
    )
