"""PyTorch twins of Zoo's models: the skeleton (`ZooLanguageModel`), one module per mixer
(`zoo.models.mixers`), and the loader of `zoo-train export` directories (`load_export`)."""
from .export import is_export, load_export
from .skeleton import ZooLanguageModel

__all__ = ["ZooLanguageModel", "is_export", "load_export"]
