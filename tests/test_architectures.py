"""nn273.architectures: the landmark networks have the parameter and unit counts known for them,
their layers take the images they are built for, and counting leaves a model as it was."""

import pytest
import torch

from nn273.architectures import alexnet, depth, googlenet, lenet5, parameter_count, unit_count
from nn273.conv import build_lenet

pytestmark = pytest.mark.filterwarnings("error")


@pytest.mark.parametrize(
    "build, parameters, layers",
    [
        (lambda: lenet5(device="meta"), 61_706, 5),  # the classic 32x32 LeNet-5
        (lambda: alexnet(device="meta"), 61_100_840, 8),  # as torchvision defines it
        (lambda: alexnet(variant="paper", device="meta"), 60_965_224, 8),  # "60 million"
        (lambda: googlenet(device="meta"), 6_624_904, 22),  # torchvision's, no auxiliary heads
    ],
    ids=["lenet5", "alexnet", "alexnet paper", "googlenet"],
)
def test_known_parameter_counts_and_depths(build, parameters, layers):
    model = build()
    assert parameter_count(model) == parameters
    assert depth(model) == layers


def test_depth_counting_pooling_gives_googlenets_27():
    # the paper: "22 layers deep when counting only layers with parameters (or 27 layers if we
    # also count pooling)": 4 max pooling layers and the average pooling on the main path; the
    # pooling branch of an Inception module (pool, then 1x1) is as deep as its 1x1-then-3x3 ones
    assert depth(googlenet(device="meta"), pooling=True) == 27
    assert depth(lenet5(device="meta"), pooling=True) == 7
    assert depth(alexnet(variant="paper", device="meta"), pooling=True) == 11


def test_lenet5_layer_by_layer():
    # C1 6(25 + 1), C3 16(6*25 + 1), C5 120(400 + 1), F6 84(120 + 1), output 10(84 + 1)
    assert parameter_count(lenet5(device="meta")) == 156 + 2_416 + 48_120 + 10_164 + 850
    # units: 6x28x28 + 16x10x10 + 120 + 84 + 10
    assert unit_count(lenet5(device="meta")) == 4_704 + 1_600 + 120 + 84 + 10


def test_alexnet_has_the_papers_650k_units():
    # 96x55x55, 256x27x27, 384x13x13 twice, 256x13x13, then 4096, 4096, 1000
    units = unit_count(alexnet(variant="paper", device="meta"))
    assert units == 290_400 + 186_624 + 2 * 64_896 + 43_264 + 4_096 + 4_096 + 1_000 == 659_272
    assert abs(units - 650_000) / 650_000 < 0.02
    # torchvision's one-GPU variant has fewer maps: 64x55x55, 192x27x27, 384, 256, 256 x 13x13
    assert unit_count(alexnet(device="meta")) == 193_600 + 139_968 + 64_896 + 2 * 43_264 + 9_192


def test_num_classes_changes_the_last_layer_only():
    # one weight per feature of the last hidden layer, and a bias, for each class
    assert parameter_count(lenet5(device="meta")) - parameter_count(
        lenet5(num_classes=2, device="meta")
    ) == (84 + 1) * (10 - 2)
    for build, features in [(alexnet, 4096), (googlenet, 1024)]:
        assert parameter_count(build(device="meta")) - parameter_count(
            build(num_classes=10, device="meta")
        ) == (features + 1) * (1000 - 10)


@pytest.mark.parametrize("build", [lenet5, alexnet, googlenet])
def test_builders_make_models_that_take_their_input_shape(build):
    model = build(num_classes=7, device="meta")
    out = model.eval()(torch.empty((2, *model.input_shape), device="meta"))
    assert tuple(out.shape) == (2, 7)


def test_the_paper_alexnet_takes_227_pixels():
    model = alexnet(variant="paper", device="meta").eval()
    assert model.input_shape == (3, 227, 227)
    assert tuple(model(torch.empty((1, 3, 227, 227), device="meta")).shape) == (1, 1000)


def test_a_cpu_model_runs_and_counting_leaves_it_as_it_was():
    torch.manual_seed(0)
    model = lenet5()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert model.training
    assert unit_count(model) == 6_518
    assert model.training and all(not p.is_meta for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert tuple(model(torch.zeros(3, 1, 32, 32)).shape) == (3, 10)


def test_the_course_lenet_counts():
    model = build_lenet()
    assert parameter_count(model) == 16 * 25 + 16 + 400 * 10 + 10 == 4_426
    assert unit_count(model, (1, 28, 28)) == 16 * 12 * 12 + 10
    assert depth(model) == 2


def test_bad_arguments_say_what_to_do():
    with pytest.raises(ValueError, match="variant must be one of 'torchvision', 'paper'"):
        alexnet(variant="original")
    with pytest.raises(ValueError, match="input_shape"):
        unit_count(build_lenet())
    with pytest.raises(TypeError, match="torch.nn.Module"):
        parameter_count([1, 2, 3])
    with pytest.raises(ValueError, match="num_classes"):
        googlenet(num_classes=0, device="meta")
