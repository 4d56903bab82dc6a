"""Writes small ImageNet16 files in the Downsampled ImageNet layout NAS-Bench-201
reads: pickled dicts {'data': uint8 array (n, 768), 'labels': list of 1-based
ints, 'mean': float array}, one per file name.

usage: write_imagenet16.py DIR PROTOCOL N_PER_FILE -> JSON {"files": [...]}
Image i of file f has pixel p = (f * 31 + i * 7 + p) % 251; its label is
cycled through 1..=130 so that some fall outside the 120 kept classes.
"""
import json
import os
import pickle
import sys

import numpy as np


def main():
    out, protocol, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    names = [f"train_data_batch_{i}" for i in range(1, 11)] + ["val_data"]
    for f, name in enumerate(names):
        idx = np.arange(768)
        data = np.stack([((f * 31 + i * 7 + idx) % 251).astype(np.uint8) for i in range(n)])
        labels = [int((f * n + i) % 130) + 1 for i in range(n)]
        entry = {"data": data, "labels": labels, "mean": data.mean(axis=0)}
        with open(os.path.join(out, name), "wb") as fh:
            pickle.dump(entry, fh, protocol=protocol)
    json.dump({"files": names}, sys.stdout)


if __name__ == "__main__":
    main()
