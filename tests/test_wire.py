"""The data-only encoding between grader and kernel (autograder/kernelside/wire.py): what crosses
comes back equal, with its type and dtype; what may not cross is refused; what a hostile kernel can
send is decoded as plain data or refused, never built into anything else."""

import contextlib
import json
import math
import socket
import threading
import time

import numpy as np
import pytest
import torch

from autograder.kernelside import wire


@pytest.mark.parametrize(
    "value",
    [
        None, True, 3, -(2**70), 2.5, math.inf, "text", [1, [2.0, "x"]], (1, (2, 3)), {"a": 1, "b": [2]},
        np.arange(6.0).reshape(2, 3), np.array([1, -1], dtype=np.int64), np.array([True, False]),
        np.zeros((0, 3)), np.float32(1.5), np.int64(7), np.array(4.0),
    ],
)  # fmt: skip
def test_plain_data_comes_back_equal_with_its_types(value):
    back = wire.decode(wire.encode(value))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape and np.array_equal(back, value)
    elif isinstance(value, float) and math.isnan(value):
        assert math.isnan(back)
    else:
        assert back == value


def test_nan_crosses():
    assert math.isnan(wire.decode(wire.encode(float("nan"))))


def test_tensors_cross_with_dtype_and_requires_grad():
    t = torch.tensor([[1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    back = wire.decode(wire.encode(t))
    assert isinstance(back, torch.Tensor) and back.dtype == torch.float64 and back.requires_grad
    assert torch.equal(back.detach(), t.detach())


@pytest.mark.parametrize(
    "value", [np.array(["a"]), np.array([object()], dtype=object), {1: 2}, {1.5}, object(), lambda x: x, b"raw"]
)
def test_what_is_not_plain_data_is_refused_without_a_callback(value):
    with pytest.raises(wire.WireError, match="cannot"):
        wire.encode(value)


def test_other_values_go_through_the_callback():
    assert json.loads(wire.encode([object()], other=lambda v: {"t": "handle", "id": 1}))[0]["t"] == "handle"


def test_views_and_fortran_order_keep_their_layout_only_when_asked():
    a = np.arange(24.0).reshape(4, 6)
    for x in (a[::2, 1::2], a.T, a[::-1, ::3]):
        laid = wire.decode(wire.encode(x), layout=True)
        plain = wire.decode(wire.encode(x))
        assert np.array_equal(laid, x) and laid.strides == x.strides
        assert np.array_equal(plain, x) and plain.flags.c_contiguous


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "not valid JSON"),
        ('{"t": "ndarray", "dtype": "object", "shape": [1], "data": ""}', "dtype"),
        ('{"t": "ndarray", "dtype": "float64", "shape": [2], "data": "AAAA"}', "cannot hold"),
        ('{"t": "ndarray", "dtype": "float64", "shape": [-1], "data": ""}', "shape"),
        ('{"t": "ndarray", "dtype": "float64", "shape": [1], "data": "!!"}', "base64"),
        ('{"t": "handle", "id": 1}', "forbidden"),
        ('{"t": "callback", "id": 1}', "forbidden"),
        ('{"t": "pickle", "data": "gASV"}', "forbidden"),
        ('{"t": "dict", "items": [[1, 2]]}', "string key"),
        ("[" * 40 + "]" * 40, "deeper"),
    ],
)
def test_malformed_messages_are_refused(text, message):
    with pytest.raises(wire.WireError, match=message):
        wire.decode(text)


def test_hostile_strides_fall_back_to_plain_values():
    tree = json.loads(wire.encode(np.arange(6.0)))
    for strides in ([10**12], [8, 8], ["x"]):
        tree["strides"] = strides
        assert np.array_equal(wire.decode(json.dumps(tree), layout=True), np.arange(6.0))


def test_handles_and_callbacks_only_where_the_decoder_builds_them():
    built = wire.decode('[{"t": "handle", "id": 3, "type": "Model"}, {"t": "callback", "id": 0}]',
                        handle=lambda key, kind: ("handle", key, kind), callback=lambda key: ("callback", key))  # fmt: skip
    assert built == [("handle", 3, "Model"), ("callback", 0)]


def test_framed_messages_over_a_socket():
    left, right = socket.socketpair()
    with left, right:
        wire.send(left, {"outcome": wire.encode(np.arange(3))})
        assert np.array_equal(wire.decode(wire.receive(right)["outcome"]), np.arange(3))
        left.sendall((wire.MAX_BYTES + 1).to_bytes(8, "big"))
        with pytest.raises(wire.WireError, match="larger"):
            wire.receive(right)
        left.close()
        assert wire.receive(right) is None


@pytest.mark.parametrize("bits", [np.random.PCG64, np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_a_random_generator_crosses_as_its_state_and_the_sender_does_not_advance(bits):
    rng = np.random.Generator(bits(273))
    back = wire.decode(wire.encode(rng))
    assert type(back) is np.random.Generator and type(back.bit_generator) is bits
    assert np.array_equal(back.permutation(50), rng.permutation(50))  # same draws, each its own
    assert back.random() == rng.random()


@pytest.mark.parametrize(
    "state, message",
    [
        ({"bit_generator": "os.system", "state": {}}, "must be one of"),
        ({"bit_generator": "PCG64", "state": {"state": "x", "inc": 1}}, "not a valid state"),
        ("PCG64", "must be one of"),
    ],
)
def test_a_hostile_generator_state_is_refused(state, message):
    text = json.dumps({"t": "generator", "state": json.loads(wire.encode(state))})
    with pytest.raises(wire.WireError, match=message):
        wire.decode(text)


def test_the_legacy_random_state_does_not_cross():
    with pytest.raises(wire.WireError, match="cannot"):
        wire.encode(np.random.RandomState(1))


# ------------------------------------------------------------- what a hostile kernel can send
def test_a_message_of_too_many_values_is_refused_before_it_is_parsed():
    bomb = "[" + "[]," * wire.MAX_NODES + "[]]"  # 3 MB of text, a million lists once parsed
    with pytest.raises(wire.WireError, match="JSON values"):
        wire.decode(bomb)
    with pytest.raises(wire.WireError, match="JSON values"):
        wire.decode("[" * (wire.MAX_NODES + 1))  # as deep as it is long


def test_nesting_deeper_than_the_parser_goes_is_refused_in_any_thread():
    deep = "[" * 200_000 + "]" * 200_000  # fewer values than the limit, but 200 000 levels
    errors = []
    worker = threading.Thread(target=lambda: errors.append(pytest.raises(wire.WireError, wire.decode, deep)))
    worker.start()
    worker.join(30)
    assert errors and "not valid JSON" in str(errors[0].value)


def test_real_results_are_far_below_the_limit_of_values():
    params = [(np.ones((3, 4)), np.zeros(4))] * 5000  # a few thousand items of arrays
    batch = [{"status": "ok", "value": 1.5, "warnings": [], "updated": [{"m": np.ones(2)}]}] * 5000
    for value in (params, batch, list(range(100_000))):
        assert len(wire.decode(wire.encode(value))) == len(value)


def test_receive_refuses_too_many_values_before_reading_the_rest():
    left, right = socket.socketpair()
    sent = []

    def flood():  # declares 200 MB, then sends "[],[],..." until the other side closes
        chunk = b"[]," * (1 << 18)
        with contextlib.suppress(OSError):
            left.sendall((200 * 2**20).to_bytes(8, "big") + b"[")
            while True:
                left.sendall(chunk)
                sent.append(len(chunk))

    writer = threading.Thread(target=flood)
    writer.start()
    try:
        with pytest.raises(wire.WireError, match="JSON values"):
            wire.receive(right, deadline=time.monotonic() + 30)
    finally:
        right.close()
        writer.join(10)
        left.close()
    assert sum(sent) < 3 * wire.MAX_NODES + 8 * 2**20  # the rest of the 200 MB was never read


def test_receive_and_send_keep_an_absolute_deadline_however_slowly_bytes_come():
    left, right = socket.socketpair()
    stop = threading.Event()

    def drip():  # a 100-byte message, one byte every 0.2 s: each recv alone would be quick
        left.sendall((100).to_bytes(8, "big"))
        while not stop.wait(0.2):
            left.sendall(b" ")

    writer = threading.Thread(target=drip)
    writer.start()
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            wire.receive(right, deadline=start + 1.0)
        waited = time.monotonic() - start
    finally:
        stop.set()
        writer.join(5)
    print(f"\nreceive of a dripping message ended after {waited:.2f} s (deadline 1 s)")
    assert 0.9 < waited < 2.0
    with left, right:
        right.setblocking(True)
        start = time.monotonic()
        with pytest.raises(TimeoutError):  # nobody reads: the socket buffer fills, then waits
            wire.send(right, {"outcome": "x" * 50_000_000}, deadline=start + 1.0)
        assert time.monotonic() - start < 2.0
