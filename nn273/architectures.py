"""The lecture's landmark convolutional networks, layer by layer, to count what they are made of.

    LeNet-5    Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning applied to
               document recognition", Proceedings of the IEEE 86(11), 2278-2324, 1998.
    AlexNet    A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet classification with deep
               convolutional neural networks", NIPS 2012.
    GoogLeNet  C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan,
               V. Vanhoucke, A. Rabinovich, "Going deeper with convolutions", CVPR 2015
               (arXiv:1409.4842).

Each builder returns a `torch.nn.Sequential` whose attribute `input_shape` is the (C, H, W) of one
image it takes. Built with `device="meta"`, a model has the shapes of its weights but no values
and no memory: enough to count its parameters (`parameter_count`), its units, the outputs of its
convolution and dense layers for one image (`unit_count`, run on a meta tensor), and its depth,
the weight layers on the longest path from the input to the output (`depth`).

    >>> model = alexnet(variant="paper", device="meta")
    >>> parameter_count(model), unit_count(model), depth(model)
    (60965224, 659272, 8)

Where the definitions come from, and how they differ from the papers:

- `lenet5()`: the classic 32x32 version as usually rebuilt: C1 6@5x5, 2x2 average pooling, C3 16@5x5
  connected to all 6 maps, pooling, C5 120 (a dense layer on the 16x5x5 maps), F6 84, 10 outputs;
  tanh units. 61,706 parameters. The paper's pooling layers have a trainable coefficient and bias
  per map, its C3 connects each map to a subset of C2's maps, and its outputs are RBF units: about
  60,000 parameters in the paper.
- `alexnet(variant="paper")`: the paper's network on 227x227 images (the paper says 224, but its
  11x11 stride 4 filters need 227 to give its 55x55 maps), split over two GPUs: conv2, conv4 and
  conv5 see only the maps of their own GPU (`groups=2`). 60,965,224 parameters ("60 million") and
  659,272 units ("650,000 neurons"; the paper lists 253,440 for the first layer, where 96x55x55 =
  290,400).
- `alexnet()`, variant "torchvision": the one-GPU variant of torchvision's `alexnet` (64, 192,
  384, 256, 256 channels, no grouping, no response normalization), 61,100,840 parameters.
- `googlenet()`: torchvision's `googlenet` without its two auxiliary classifiers: each convolution
  without bias and followed by batch normalization, and the "5x5" branch of every Inception module
  with 3x3 filters (as torchvision builds it), 6,624,904 parameters. The paper has no batch
  normalization, 5x5 filters there, and biases.
"""

import contextlib
import copy

import torch
from torch import nn

from .validation import check_choice, check_int

__all__ = [
    "alexnet",
    "depth",
    "googlenet",
    "lenet5",
    "parameter_count",
    "unit_count",
]

ALEXNET_VARIANTS = ("torchvision", "paper")


# ------------------------------------------------------------------------------------ LeNet-5
def lenet5(num_classes=10, device=None):
    """LeNet-5 on 32x32 grey images: input_shape (1, 32, 32), 61,706 parameters for 10 classes."""
    num_classes = check_int(num_classes, "num_classes", 1)
    with _on(device):
        model = nn.Sequential(
            nn.Conv2d(1, 6, 5),  # C1: 6 maps of 28x28
            nn.Tanh(),
            nn.AvgPool2d(2),  # S2: 14x14
            nn.Conv2d(6, 16, 5),  # C3: 16 maps of 10x10
            nn.Tanh(),
            nn.AvgPool2d(2),  # S4: 5x5
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),  # C5
            nn.Tanh(),
            nn.Linear(120, 84),  # F6
            nn.Tanh(),
            nn.Linear(84, num_classes),
        )
    model.input_shape = (1, 32, 32)
    return model


# ------------------------------------------------------------------------------------ AlexNet
def alexnet(num_classes=1000, variant="torchvision", device=None):
    """AlexNet: variant "torchvision" (input_shape (3, 224, 224), 61,100,840 parameters) or "paper"
    (the two-GPU network of the paper, input_shape (3, 227, 227), 60,965,224 parameters)."""
    num_classes = check_int(num_classes, "num_classes", 1)
    variant = check_choice(variant, "variant", ALEXNET_VARIANTS)
    paper = variant == "paper"
    c1, c2, c3, c4, c5 = (96, 256, 384, 384, 256) if paper else (64, 192, 384, 256, 256)
    groups = 2 if paper else 1  # the paper's conv2, conv4 and conv5 see only their own GPU's maps

    def normalize():  # the paper's local response normalization (no parameters)
        return [nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)] if paper else []

    with _on(device):
        features = [
            nn.Conv2d(3, c1, 11, stride=4, padding=0 if paper else 2),
            nn.ReLU(),
            *normalize(),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(c1, c2, 5, padding=2, groups=groups),
            nn.ReLU(),
            *normalize(),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1, groups=groups),
            nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1, groups=groups),
            nn.ReLU(),
            nn.MaxPool2d(3, stride=2),
        ]
        if not paper:
            features.append(nn.AdaptiveAvgPool2d((6, 6)))  # 6x6 already at 224x224
        model = nn.Sequential(
            *features,
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(c5 * 6 * 6, 4096),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Linear(4096, num_classes),
        )
    model.input_shape = (3, 227, 227) if paper else (3, 224, 224)
    return model


# ---------------------------------------------------------------------------------- GoogLeNet
class Inception(nn.Module):
    """Four branches side by side, their maps concatenated: 1x1; 1x1 then 3x3; 1x1 then 3x3 (the
    paper's 5x5); 3x3 max pooling then 1x1. The 1x1 convolutions before the larger filters reduce
    the number of maps they see: the module's trick for few parameters."""

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branches = nn.ModuleList(
            [
                _conv_bn(in_channels, ch1x1, 1),
                nn.Sequential(_conv_bn(in_channels, ch3x3red, 1), _conv_bn(ch3x3red, ch3x3, 3)),
                nn.Sequential(_conv_bn(in_channels, ch5x5red, 1), _conv_bn(ch5x5red, ch5x5, 3)),
                nn.Sequential(
                    nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                    _conv_bn(in_channels, pool_proj, 1),
                ),
            ]
        )

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], dim=1)


def _conv_bn(in_channels, out_channels, kernel, stride=1):
    """torchvision's BasicConv2d: a convolution without bias ("same" padding), batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(
            in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, bias=False
        ),
        nn.BatchNorm2d(out_channels, eps=0.001),
        nn.ReLU(),
    )


def googlenet(num_classes=1000, device=None):
    """GoogLeNet as torchvision builds it, without the auxiliary classifiers: input_shape
    (3, 224, 224), 6,624,904 parameters, 22 weight layers deep."""
    num_classes = check_int(num_classes, "num_classes", 1)
    with _on(device):
        model = nn.Sequential(
            _conv_bn(3, 64, 7, stride=2),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
            _conv_bn(64, 64, 1),
            _conv_bn(64, 192, 3),
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
            Inception(192, 64, 96, 128, 16, 32, 32),  # 3a
            Inception(256, 128, 128, 192, 32, 96, 64),  # 3b
            nn.MaxPool2d(3, stride=2, ceil_mode=True),
            Inception(480, 192, 96, 208, 16, 48, 64),  # 4a
            Inception(512, 160, 112, 224, 24, 64, 64),  # 4b
            Inception(512, 128, 128, 256, 24, 64, 64),  # 4c
            Inception(512, 112, 144, 288, 32, 64, 64),  # 4d
            Inception(528, 256, 160, 320, 32, 128, 128),  # 4e
            nn.MaxPool2d(2, stride=2, ceil_mode=True),
            Inception(832, 256, 160, 320, 32, 128, 128),  # 5a
            Inception(832, 384, 192, 384, 48, 128, 128),  # 5b
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(1024, num_classes),
        )
    model.input_shape = (3, 224, 224)
    return model


# ---------------------------------------------------------------------------------- counting
def parameter_count(model):
    """The number of trainable numbers of a torch model: weights, biases, batch norm's scales and
    shifts (not its running statistics, which are buffers)."""
    _check_module(model)
    return sum(p.numel() for p in model.parameters())


def unit_count(model, input_shape=None):
    """The units of a model for one input: the outputs of its Conv2d and Linear layers, counted
    by running a (1, *input_shape) tensor on the meta device (no values computed).

    input_shape: (C, H, W); default the model's `input_shape` attribute (set by this module's
    builders). The model is left as it was (on the meta device or not, in training mode or not).
    """
    _check_module(model)
    if input_shape is None:
        input_shape = getattr(model, "input_shape", None)
        if input_shape is None:
            raise ValueError(
                "unit_count needs the shape of one input, (C, H, W): pass input_shape=..., e.g. "
                "(1, 28, 28) for an MNIST digit; only this module's builders set model.input_shape"
            )
    shape = tuple(check_int(n, "input_shape entry", 1) for n in input_shape)
    # On the meta device the forward pass computes shapes only; a model with values is copied
    # there, so that its weights and its mode stay as they were.
    target = copy.deepcopy(model).to("meta") if _has_values(model) else model
    counted = []

    def count(module, inputs, output):
        counted.append(output[0].numel())  # output[0]: the first (only) example of the batch

    layers = [m for m in target.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    hooks = [layer.register_forward_hook(count) for layer in layers]
    training = target.training
    try:
        target.eval()
        with torch.no_grad():
            target(torch.empty((1, *shape), device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
        target.train(training)
    return sum(counted)


POOLING = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def depth(model, pooling=False):
    """The weight layers (Conv2d and Linear) on the longest path from the input to the output:
    layers in sequence add up, the branches of an Inception module count by their deepest one.

    pooling: count the pooling layers on that path too, as GoogLeNet's paper does for its
    second count ("22 layers deep when counting only layers with parameters, or 27 layers if we
    also count pooling").
    """
    _check_module(model)
    if isinstance(model, (nn.Conv2d, nn.Linear)):
        return 1
    if isinstance(model, POOLING):
        return int(bool(pooling))
    if isinstance(model, Inception):
        return max(depth(branch, pooling) for branch in model.branches)
    return sum(depth(child, pooling) for child in model.children())


def _has_values(model):
    return any(not t.is_meta for t in (*model.parameters(), *model.buffers()))


def _check_module(model):
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module, e.g. alexnet(device='meta'); got {type(model).__name__}"
        )


def _on(device):
    """Build the layers on `device` (e.g. "meta": shapes only); None: torch's default."""
    return contextlib.nullcontext() if device is None else torch.device(device)
