"""The course's explorers: interactive pictures a student changes and watches, one module each.

    playground      a small MLP learning 2-D toy data (02_mlp, 03_backprop), as TensorFlow Playground
    filters         a digit through hand-typed and learned 3x3 filters (04_conv)
    attention       a query over a sentence's word vectors: scores, weights, result (06_attention)
    optimizer_race  SGD, momentum and Adam on one 2-D loss surface (07_sgd)
    dropout_batchnorm  dropout's p and the batch size of a network with both layers (08_regularization)
    depth           depth, initialization and skips: gradient per layer and training (05_residual)
    display         what every view shares: its picture where widgets cannot render, its controls

Each is a pure state object (`...State`: seeded, deterministic, testable without a browser) beside
a thin ipywidgets view that mixes in `display.ShowsItsPicture`. They compute with torch or NumPy
of their own, never with the graded exercises of the notebook that shows them. These are the only
modules of nn273 that import ipywidgets.
"""
