"""The fixture format the generator scripts here write and the Swift tests read: <case>.json (the script's
metadata, then `tensors`: each tensor's name, shape, offset and count) and <case>.bin (the tensors as float32
little-endian, concatenated in that order)."""
import json
import os

import numpy as np
import torch


class FixtureDump:
    def __init__(self):
        self.tensors, self.index, self.offset = [], [], 0

    def add(self, key, t):
        """Appends tensor `t` (rounded to float32) under `key`."""
        a = t.detach().to(torch.float32).contiguous().numpy().ravel()
        self.index.append({"name": key, "shape": list(t.shape), "offset": self.offset, "count": int(a.size)})
        self.tensors.append(a)
        self.offset += int(a.size)

    def write(self, folder, case, meta, indent=1):
        """Writes <folder>/<case>.json (`meta` with `tensors` last) and <folder>/<case>.bin."""
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{case}.json"), "w") as f:
            json.dump({**meta, "tensors": self.index}, f, indent=indent)
        np.concatenate(self.tensors).astype("<f4").tofile(os.path.join(folder, f"{case}.bin"))
