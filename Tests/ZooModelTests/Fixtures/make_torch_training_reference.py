#!/usr/bin/env python3
"""Writes the PyTorch reference of 10 training steps that LMTrainerTests repeats in Swift.

Usage (from the package root, with torch installed):
    python3 Tests/ZooModelTests/Fixtures/make_torch_training_reference.py Tests/ZooModelTests/Fixtures

It builds Zoo's PyTorch twin (`zoo.models.ZooLanguageModel`, in python/) of a small hybrid (attention,
then RWKV), rounds its initial weights to float32 and trains it in float64 for 10 steps on two fixed
random batches in turn (so the loss falls as they are learned), as Zoo's LM trainer does (Sources/ZooTrain/LM/LMTrainer.swift):
  - learning rate of step s: linear warmup `lr·(s+1)/warmup`, then cosine decay to `min_lr_ratio·lr`
    (LMTrainingConfig.learningRate(at:));
  - global gradient-norm clipping: scale by `clip/norm` when the norm passes `clip`
    (clipGradientNorm in Sources/ZooTensor/Optim/GradientClipping.swift);
  - torch.optim.AdamW with betas 0.9/0.999, eps 1e-8 and weight decay on every parameter (AdamW.swift).
Output: training.json (config, schedule, batches, per-step loss, learning rate and gradient norm,
tensor index) and training.bin (the initial parameters, float32 little-endian, concatenated).
"""
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../python"))
from fixture_dump import FixtureDump  # noqa: E402
from zoo.models import ZooLanguageModel  # noqa: E402

out_dir = sys.argv[1]

CONFIG = dict(mixer="attention,rwkv", d_model=32, n_layers=2, vocab_size=97, max_position_embeddings=16, l_max=16,
              num_heads=2, hidden_mult=4, embed_dropout=0.0, attn_dropout=0.0)
TRAIN = dict(steps=10, lr=1e-2, warmup_steps=3, min_lr_ratio=0.1, grad_clip=1.2, weight_decay=0.1)
BATCH, LENGTH = 4, 16


def learning_rate(step):
    """LMTrainingConfig.learningRate(at:)."""
    lr, warmup, steps = TRAIN["lr"], TRAIN["warmup_steps"], TRAIN["steps"]
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return lr * (TRAIN["min_lr_ratio"] + (1 - TRAIN["min_lr_ratio"]) * cosine)


torch.manual_seed(1234)
model = ZooLanguageModel(CONFIG)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(p.to(torch.float32))  # the initial weights Swift loads, exactly
model = model.double()
model.train()
params = list(model.parameters())  # the tied head once
optimizer = torch.optim.AdamW(params, lr=TRAIN["lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=TRAIN["weight_decay"])

dump = FixtureDump()
for name, p in model.named_parameters():
    dump.add("param:" + name, p)

g = torch.Generator().manual_seed(7)
batches = [torch.randint(0, CONFIG["vocab_size"], (BATCH, LENGTH + 1), generator=g) for _ in range(2)]
inputs, targets, losses, lrs, norms = [], [], [], [], []
for step in range(TRAIN["steps"]):
    ids = batches[step % 2]
    x, y = ids[:, :-1], ids[:, 1:]
    lr = learning_rate(step)
    for group in optimizer.param_groups:
        group["lr"] = lr
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
    if norm > TRAIN["grad_clip"]:
        for p in params:
            p.grad.mul_(TRAIN["grad_clip"] / norm)
    optimizer.step()
    inputs.append(x.ravel().tolist())
    targets.append(y.ravel().tolist())
    losses.append(loss.item())
    lrs.append(lr)
    norms.append(norm)
    print(f"step {step}: lr {lr:.5f} loss {loss.item():.6f} grad norm {norm:.4f}")

meta = {"config": CONFIG, "training": TRAIN, "batch": BATCH, "length": LENGTH, "inputs": inputs, "targets": targets,
        "losses": losses, "learning_rates": lrs, "grad_norms": norms, "torch": torch.__version__,
        "dtype": "float64 model from float32 weights"}
dump.write(out_dir, "training", meta, indent=None)
print("floats", dump.offset)
