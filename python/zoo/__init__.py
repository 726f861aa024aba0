"""Zoo's Python side: `zoo-score` (per-token losses of PyTorch and Hugging Face models in Zoo's
`zoo.losses.v1` format) and PyTorch twins of Zoo's models (`zoo.models`), which load `zoo-train export`
directories."""
