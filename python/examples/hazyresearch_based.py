"""`zoo-score --module` loaders for the hazyresearch checkpoints of the Based paper (attn-360m,
based-360m, mamba-360m and the 1.3b ones), which are models of the `based` repository rather than
Hugging Face `transformers` classes.

    git clone https://github.com/HazyResearch/based && pip install -e based   # and its requirements
    zoo-score --module python/examples/hazyresearch_based.py:based_360m --tokens pile-val-gpt2/val.h5 \
        --seq-len 2048 --range 0:4194304 --out scores/based-360m.h5 --name based-360m --device cuda

Each function returns an `nn.Module` mapping input_ids to logits (the based repo's GPTLMHeadModel
returns a namedtuple with `logits`, which the wrapper takes); `zoo-score` moves it to --device and
--dtype. Weights are downloaded from the hub when the function runs; nothing here is exercised by the
test suite (it needs the based repository and the network).
"""
import torch


class Logits(torch.nn.Module):
    """`model(input_ids).logits` as a module of its own."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids).logits


def _load(name):
    from based.models.gpt import GPTLMHeadModel  # the based repository's model class

    return Logits(GPTLMHeadModel.from_pretrained_hf(name))


def attn_360m():
    return _load("hazyresearch/attn-360m")


def based_360m():
    return _load("hazyresearch/based-360m")


def mamba_360m():
    return _load("hazyresearch/mamba-360m")
