"""The data-only encoding between the grader and a grading kernel, the same on both sides.

Values cross as JSON text. What may cross: None, bools, ints, floats (nan and inf included),
strings, lists, tuples, dicts with string keys, NumPy arrays and scalars of plain numeric dtypes,
torch tensors (as their values, dtype and requires_grad), and NumPy random Generators (as their bit
generator's state: the copy that crosses draws the same numbers, and the sender's own generator does
not advance). Everything else is replaced on the way out
by the `other` callback of `encode` (the kernel makes it a handle to an object that stays in the
kernel; the grader refuses). Decoding builds only those plain types: nothing is unpickled, imported
or evaluated, and sizes, depth and the number of values are bounded (the values counted in the raw
text before JSON builds any of them), so a hostile kernel can send wrong values but nothing else.
`send` and `receive` take an absolute deadline, so a peer that sends a byte at a time cannot hold
the other side past it.

Both sides use this module: the kernel as `kernelside.wire` (the folder is copied into every
sandbox), the grader as `autograder.kernelside.wire`. It imports nothing of the course.
"""

import base64
import json
import math
import time

import numpy as np

__all__ = [
    "BIT_GENERATORS", "DTYPES", "MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "WireError", "decode", "encode", "receive",
    "send",
]  # fmt: skip

# Plain numeric dtypes only: no object, string, structured or datetime arrays.
DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
     "float16", "float32", "float64"]
)  # fmt: skip
# The bit generators of numpy.random whose state is plain data (ints, and an array for MT19937).
BIT_GENERATORS = frozenset(["MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"])
MAX_DEPTH = 24
MAX_BYTES = 256 * 2**20  # of one message's JSON text
# JSON values in one message, bounded by counting its structural characters ([ { , :) before it is
# parsed: a value costs Python 50 to 100 bytes, so 256 MiB of "[[],[],...]" made 6 GiB of lists.
# Real results stay far below: arrays cross as one base64 string each, and a list of a few thousand
# items, each a dict of a dozen values, is some 10**5. (Characters inside strings count too, which
# only overestimates; base64 has none of them.) Nesting needs no count of its own: JSON's parser
# refuses more than Python's recursion limit (1000) of it before building much, and `decode`
# MAX_DEPTH.
MAX_NODES = 1_000_000
_STRUCTURAL = "[{,:"


class WireError(ValueError):
    """A message that is not in the encoding (malformed, too deep, too large, a forbidden type)."""


def encode(value, other=None):
    """JSON text for `value`; `other(obj)` encodes what is not plain data (default: refuse)."""
    return json.dumps(_pack(value, other, 0), allow_nan=True, separators=(",", ":"))


def decode(text, handle=None, callback=None, layout=False):
    """The value encoded in `text`; `handle(id, type)` and `callback(id)` build those tags if allowed.

    layout: rebuild arrays with the strides they were sent with (the kernel does, for the arguments
    a test sends); otherwise every array is C-contiguous (the grader's way with results).
    """
    if not isinstance(text, str):
        raise WireError(f"expected JSON text, received {type(text).__name__}")
    if len(text) > MAX_BYTES:
        raise WireError(f"message of {len(text)} bytes is larger than the limit of {MAX_BYTES}")
    _check_nodes(sum(text.count(c) for c in _STRUCTURAL))
    return _unpack(_loads(text), handle, callback, 0, layout)


def send(sock, message, deadline=None):
    """Send a dict of plain JSON values over a stream socket, framed by its length; all of it by
    `deadline` (a time.monotonic() value; None: the socket's own timeout) or TimeoutError."""
    body = json.dumps(message, separators=(",", ":")).encode()
    _until(sock, deadline)
    sock.sendall(len(body).to_bytes(8, "big") + body)  # its timeout covers the whole send


def receive(sock, deadline=None):
    """The next dict sent with `send`, or None when the other side has closed the socket.

    deadline: a time.monotonic() value by which the whole message must have arrived, else
    TimeoutError (None: only the socket's own timeout, per recv). A message with more values than
    MAX_NODES is refused as soon as its text shows it, before the rest is read; the socket is then
    in the middle of a message and must be closed.
    """
    head = _exactly(sock, 8, deadline)
    if head is None:
        return None
    size = int.from_bytes(head, "big")
    if size > MAX_BYTES:
        raise WireError(f"message of {size} bytes is larger than the limit of {MAX_BYTES}")
    body = _exactly(sock, size, deadline, count=True)
    if body is None:
        return None
    message = _loads(body)
    if not isinstance(message, dict):
        raise WireError("a message must be a JSON object")
    return message


def _loads(text):
    try:
        return json.loads(text, parse_constant=_constant)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"not valid JSON: {str(exc)[:200]}") from None


def _check_nodes(count):
    if count > MAX_NODES:
        raise WireError(f"message of more than {MAX_NODES} JSON values (lists, dicts, items); a result of that many is not plain data the grader takes")


def _until(sock, deadline):
    if deadline is not None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the other side of the line did not finish its message in time")
        sock.settimeout(left)


def _exactly(sock, size, deadline, count=False):
    """`size` bytes from `sock` (None if it closes first), in one buffer grown as they arrive (no
    second copy); count: refuse as soon as the text holds more than MAX_NODES values."""
    buffer, nodes = bytearray(), 0
    while len(buffer) < size:
        _until(sock, deadline)
        chunk = sock.recv(min(size - len(buffer), 1 << 20))
        if not chunk:
            return None
        if count:
            nodes += sum(chunk.count(c) for c in b"[{,:")
            _check_nodes(nodes)
        buffer += chunk
    return buffer


def _constant(name):
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


def _pack(value, other, depth):
    if depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and type(value) is int:
        return value
    if isinstance(value, float) and type(value) is float:
        return value
    if type(value) is np.ndarray:
        return _pack_array("ndarray", value)
    if isinstance(value, np.generic) and type(value).__module__ == "numpy":
        return _pack_array("scalar", np.asarray(value))
    if type(value) is list:
        return [_pack(v, other, depth + 1) for v in value]
    if type(value) is tuple:
        return {"t": "tuple", "items": [_pack(v, other, depth + 1) for v in value]}
    if type(value) is dict and all(type(k) is str for k in value):
        return {"t": "dict", "items": [[k, _pack(v, other, depth + 1)] for k, v in value.items()]}
    if type(value) is np.random.Generator and type(value.bit_generator).__name__ in BIT_GENERATORS:
        return {"t": "generator", "state": _pack(value.bit_generator.state, None, depth + 1)}
    tensor = _tensor_type()
    if tensor is not None and type(value) in (tensor, _parameter_type()):
        packed = _pack_array("tensor", value.detach().cpu().numpy())
        packed["requires_grad"] = bool(value.requires_grad)
        return packed
    if other is None:
        raise WireError(f"cannot send a {type(value).__name__}: only plain data crosses")
    return other(value)


def _pack_array(tag, array):
    dtype = array.dtype.name
    if dtype not in DTYPES:
        raise WireError(f"arrays of dtype {dtype} cannot cross; plain numeric dtypes only")
    data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    packed = {"t": tag, "dtype": dtype, "shape": list(array.shape), "data": base64.b64encode(data).decode()}
    if not array.flags.c_contiguous and array.size > 1:
        # A view or a Fortran-order array: its layout crosses too, since a test may be about it
        # (x.ravel() is a copy of a non-contiguous x); see `decode(..., layout=True)`.
        packed["strides"] = list(array.strides)
    return packed


def _unpack(tree, handle, callback, depth, layout=False):
    if depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):
        return [_unpack(v, handle, callback, depth + 1, layout) for v in tree]
    if not isinstance(tree, dict):
        raise WireError(f"unexpected JSON value of type {type(tree).__name__}")
    tag = tree.get("t")
    if tag == "tuple":
        return tuple(_unpack(v, handle, callback, depth + 1, layout) for v in _list(tree, "items"))
    if tag == "dict":
        out = {}
        for pair in _list(tree, "items"):
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise WireError("a dict item must be [string key, value]")
            out[pair[0]] = _unpack(pair[1], handle, callback, depth + 1, layout)
        return out
    if tag in ("ndarray", "scalar", "tensor"):
        array = _unpack_array(tree, layout)
        if tag == "scalar":
            return array[()] if array.ndim == 0 else array
        if tag == "tensor":
            import torch

            t = torch.from_numpy(array.copy())
            if tree.get("requires_grad") is True and t.is_floating_point():
                t.requires_grad_(True)
            return t
        return array
    if tag == "generator":
        return _generator(_unpack(tree.get("state"), None, None, depth + 1))
    if tag == "handle" and handle is not None:
        return handle(_int(tree, "id"), str(tree.get("type", "object"))[:200])
    if tag == "callback" and callback is not None:
        return callback(_int(tree, "id"))
    raise WireError(f"unknown or forbidden tag {str(tag)[:40]!r}")


def _unpack_array(tree, layout=False):
    dtype = tree.get("dtype")
    if dtype not in DTYPES:
        raise WireError(f"arrays of dtype {str(dtype)[:40]} cannot cross; plain numeric dtypes only")
    shape = tree.get("shape")
    if not (isinstance(shape, list) and len(shape) <= 32 and all(type(n) is int and n >= 0 for n in shape)):
        raise WireError("an array's shape must be a list of at most 32 non-negative ints")
    data = tree.get("data")
    if not isinstance(data, str):
        raise WireError("an array's data must be base64 text")
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise WireError("an array's data is not valid base64") from None
    dt = np.dtype(dtype).newbyteorder("<")
    if len(raw) != math.prod(shape) * dt.itemsize:
        raise WireError(f"an array of shape {tuple(shape)} and dtype {dtype} cannot hold {len(raw)} bytes")
    values = np.frombuffer(raw, dtype=dt).astype(np.dtype(dtype), copy=True).reshape(shape)
    strides = tree.get("strides")
    if layout and isinstance(strides, list) and len(strides) == len(shape) and values.size > 1:
        return _with_strides(values, strides)
    return values


def _with_strides(values, strides):
    """`values` laid out in memory with `strides` (bytes), in a buffer just large enough; numpy's
    own bounds check refuses strides that would reach outside it."""
    if not all(type(s) is int and abs(s) <= MAX_BYTES for s in strides):
        return values
    size = values.dtype.itemsize
    low = sum((n - 1) * s for n, s in zip(values.shape, strides) if s < 0)
    high = sum((n - 1) * s for n, s in zip(values.shape, strides) if s > 0)
    if high - low + size > MAX_BYTES:
        return values
    buffer = np.zeros(high - low + size, dtype=np.uint8)
    try:
        laid = np.ndarray(values.shape, values.dtype, buffer=buffer, offset=-low, strides=strides)
    except (TypeError, ValueError):
        return values
    laid[...] = values
    return laid


def _generator(state):
    """A new numpy Generator in `state` (a bit generator's `.state`), of an allowed bit generator."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise WireError(f"a random generator must be one of {', '.join(sorted(BIT_GENERATORS))}")
    bits = getattr(np.random, name)()
    try:
        bits.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise WireError(f"not a valid state of {name}: {exc}"[:300]) from None
    return np.random.Generator(bits)


def _list(tree, key):
    items = tree.get(key)
    if not isinstance(items, list):
        raise WireError(f"'{key}' must be a list")
    return items


def _int(tree, key):
    value = tree.get(key)
    if type(value) is not int:
        raise WireError(f"'{key}' must be an int")
    return value


def _tensor_type():
    import sys

    torch = sys.modules.get("torch")
    return getattr(torch, "Tensor", None) if torch is not None else None


def _parameter_type():
    import sys

    nn = sys.modules.get("torch.nn")
    return getattr(nn, "Parameter", None) if nn is not None else None
