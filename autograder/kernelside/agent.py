"""The kernel's half of judged grading: call what the grader asks for and send back plain data.

The grader runs every test in its own process. While it judges a test cell, the kernel runs
`serve(path)`, connected to the grader over a unix socket; each request names a student's function
(or a kernel object) and its arguments. This module looks the function up in the notebook's
namespace, calls it on the decoded arguments under the guards the grader asked for (NumPy's error
state, warnings recorded, modules it must or must not call, arguments it must leave unchanged), and
sends back the outcome as plain data. Values that are not plain data
(a torch model, a cache object) stay here and cross as handles the grader can call back.

Nothing here is trusted: a submission can replace any of it, and then only spoils its own answers.
"""

import socket
import traceback

from . import wire
from .guard import guarded_call, module_places

__all__ = ["serve"]

MAX_ITEMS = 100_000  # items of an iterator materialized for the grader

_objects = {}  # handle id -> object kept in the kernel for the grader
_line = None  # the socket to the grader while serve() runs


def serve(path):
    """Answer the grader's requests over the unix socket at `path` until it says stop.

    The grader starts this as a cell at the beginning of each test cell it judges; one request is
    one call of a student's function (or of a kernel object), answered with its outcome.
    """
    global _line
    line = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    line.connect(path)
    _line = line
    try:
        while True:
            message = wire.receive(line)
            if message is None or message.get("op") == "stop":
                break
            wire.send(line, {"outcome": _answer(message)})
    finally:
        _line = None
        line.close()


def _answer(request):
    """The outcome of one request, as wire text."""
    try:
        outcome = _serve(request)
    except BaseException as exc:  # noqa: BLE001 (the grader gets every failure as data)
        outcome = {"status": "raised", **_exception(exc)}
    try:
        return wire.encode(outcome, other=_keep)
    except BaseException as exc:  # noqa: BLE001
        return wire.encode({"status": "raised", **_exception(exc)})


def _serve(request):
    args = wire.decode(request["args"], handle=_lookup, callback=_callback, layout=True)
    kwargs = wire.decode(request["kwargs"], handle=_lookup, callback=_callback, layout=True)
    target = _target(request)
    op = request["op"]
    if op == "value":  # an answer the notebook assigned (answer_<name> = ...)
        return {"status": "ok", "value": target}
    if op == "getattr":
        return {"status": "ok", "value": getattr(target, request["attr"])}
    if op == "iter":
        items = []
        for item in target:
            items.append(item)
            if len(items) > MAX_ITEMS:
                raise ValueError(f"an iterator of more than {MAX_ITEMS} items")
        return {"status": "ok", "value": items}
    if op == "len":
        return {"status": "ok", "value": len(target)}
    if op == "getitem":
        return {"status": "ok", "value": target[args[0]]}
    if op == "call":
        if request.get("attr"):
            target = getattr(target, request["attr"])
        return _call(target, args, kwargs, request.get("guard") or {})
    if op == "calls":
        return _calls(target, args, request.get("guard") or {})
    raise ValueError(f"unknown request {op!r}")


def _target(request):
    if "handle" in request:
        return _lookup(request["handle"], "")
    name = request["name"]
    namespace = get_ipython().user_ns  # noqa: F821 (IPython's builtin in a kernel)
    if name not in namespace:
        raise NameError(f"name '{name}' is not defined")
    return namespace[name]


def _call(fn, args, kwargs, guard):
    if not callable(fn):
        raise TypeError(f"'{type(fn).__name__}' object is not callable")
    facts = guarded_call(
        fn,
        args,
        kwargs,
        errstate=guard.get("errstate"),
        forbid=module_places(guard.get("forbid", [])),
        forbid_modules=[str(m) for m in guard.get("forbid", [])],
        require=module_places(guard.get("require", [])),
        inputs=bool(guard.get("inputs")),
        updates=[i for i in guard.get("updates") or [] if type(i) is int],
    )
    exc = facts.pop("exception")
    outcome = {"status": "raised", **_exception(exc)} if exc is not None else {"status": "ok"}
    if exc is None:
        outcome["value"] = facts.pop("value")
    facts.pop("value", None)
    outcome.update(facts)
    return outcome


def _calls(fn, batch, guard):
    """A batch: `_call` of fn on each [args, kwargs] of `batch`, one after another."""
    if len(batch) > MAX_ITEMS:
        raise ValueError(f"a batch of more than {MAX_ITEMS} calls")
    return {"status": "ok", "outcomes": [_call(fn, list(args), dict(kwargs), guard) for args, kwargs in batch]}


def _exception(exc):
    text = "".join(traceback.format_exception(exc, limit=-6))
    return {
        "type": type(exc).__name__,
        "bases": [c.__name__ for c in type(exc).__mro__[1:6]],
        "message": str(exc)[:2000],
        "traceback": text[-6000:],
    }


def _keep(obj):
    """A handle for an object that is not plain data; it stays here for the grader to use."""
    key = len(_objects) + 1
    _objects[key] = obj
    return {"t": "handle", "id": key, "type": type(obj).__name__}


def _lookup(key, _type):
    if key not in _objects:
        raise KeyError(f"no kernel object {key}")
    return _objects[key]


def _callback(key):
    """A function that asks the grader to evaluate its function number `key`."""

    def ask_grader(*args, **kwargs):
        wire.send(_line, {"callback": key, "args": wire.encode(list(args)), "kwargs": wire.encode(kwargs)})
        reply = wire.receive(_line) or {}
        if reply.get("status") != "ok":
            raise RuntimeError(reply.get("message", "the grader's function failed"))
        return wire.decode(reply["value"])

    ask_grader.__name__ = f"f{key}"
    return ask_grader
