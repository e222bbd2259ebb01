"""nn273: the helper package of the nn273 course on neural networks.

Every notebook imports from here. The modules follow the course's data flow:

    data        shipped data files (iris, mcycle, MNIST subset) and 2-D generators
    linear      01_linear: linear classifiers, logistic and softmax regression
    mlp         02_mlp: activations, parameter counts, the forward pass
    backprop    03_backprop: layers' backward passes, losses, backprop through an MLP, autograd
    conv        04_conv: convolution and max pooling layers, the lecture's LeNet
    architectures  LeNet-5, AlexNet and GoogLeNet layer by layer, to count (04_conv's table)
    residual    05_residual: the residual block in NumPy and in torch
    attention   06_attention: scaled dot-product and self-attention, positions, the causal mask
    sgd         07_sgd: the parameter count, minibatches, SGD, momentum and Adam steps
    regularization  08_regularization: inverted dropout and batch normalization, forward and backward
    training    07_sgd's NumPy network, its loss and gradients, update rules (not with nn273.sgd)
    gradcheck   numerical gradients and gradient checks used by every notebook's tests
    plots       decision regions, loss curves, image grids
    claims      the notebook's seed (NN273_SEED) and the claims a notebook checks about its numbers
    explorers/  the interactive explorers, one module each (playground, filters, attention,
                optimizer_race, ...), the only modules that import ipywidgets

Each notebook's reference module implements its graded exercises; a later notebook may use an
earlier one's, and hidden tests fail a student's function that calls its own notebook's.

Shape glossary, used in every docstring:

    N  examples in a batch (rows of X)      D  input features
    M  outputs of a layer                   K  classes
    C  channels                             H, W  height and width
    F  filters

Arrays are NumPy float64 unless a docstring says otherwise; rows are examples.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
