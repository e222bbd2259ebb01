"""The kernel's half of judged grading: call what the grader asks for and send back plain data.

The grader runs every test in its own process; when a test calls a student's function, the grader
executes `serve()` here, in the student's kernel, and answers its prompt with the request. This module looks the function up in the
notebook's namespace, calls it on the decoded arguments under the guards the grader asked for
(NumPy's error state, warnings recorded, modules it must or must not call, arguments it must leave
unchanged), and publishes one result as display data of type `MIME`. Values that are not plain data
(a torch model, a cache object) stay here and cross as handles the grader can call back.

Nothing here is trusted: a submission can replace any of it, and then only spoils its own answers.
"""

import json
import traceback

from . import wire
from .guard import guarded_call, module_places

__all__ = ["MIME", "serve"]

MIME = "application/vnd.nn273.result+json"
REQUEST_PROMPT = "\x00nn273-request"  # the grader answers this input() with the request
CALLBACK_PROMPT = "\x00nn273-callback:"
MAX_ITEMS = 100_000  # items of an iterator materialized for the grader

_objects = {}  # handle id -> object kept in the kernel for the grader


def serve():
    """Serve one request of the grader (read over stdin, so large arrays are not code) and publish
    its outcome."""
    try:
        outcome = _serve(json.loads(input(REQUEST_PROMPT)))
    except BaseException as exc:  # noqa: BLE001 (the grader gets every failure as data)
        outcome = {"status": "raised", **_exception(exc)}
    try:
        text = wire.encode(outcome, other=_keep)
    except BaseException as exc:  # noqa: BLE001
        text = wire.encode({"status": "raised", **_exception(exc)})
    from IPython.display import publish_display_data

    publish_display_data({MIME: text})


def _serve(request):
    args = wire.decode(request["args"], handle=_lookup, callback=_callback)
    kwargs = wire.decode(request["kwargs"], handle=_lookup, callback=_callback)
    target = _target(request)
    op = request["op"]
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
        require=module_places(guard.get("require", [])),
        inputs=bool(guard.get("inputs")),
    )
    exc = facts.pop("exception")
    outcome = {"status": "raised", **_exception(exc)} if exc is not None else {"status": "ok"}
    if exc is None:
        outcome["value"] = facts.pop("value")
    facts.pop("value", None)
    outcome.update(facts)
    return outcome


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
    """A function that asks the grader to evaluate its function number `key` (over stdin)."""

    def ask_grader(*args, **kwargs):
        request = json.dumps({"id": key, "args": wire.encode(list(args)), "kwargs": wire.encode(kwargs)})
        reply = json.loads(input(CALLBACK_PROMPT + request))
        if reply.get("status") != "ok":
            raise RuntimeError(reply.get("message", "the grader's function failed"))
        return wire.decode(reply["value"])

    ask_grader.__name__ = f"f{key}"
    return ask_grader
