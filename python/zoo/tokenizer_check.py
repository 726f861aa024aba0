"""Is a model's tokenizer the one a token store's ids came from?

The model's `tokenizer.json` (Hugging Face `tokenizers` format) encodes a fixed probe text; its ids
must equal the ids the store's tokenizer gives that text. For the tokenizers Zoo ingests by name
those ids are committed below (the tests recompute them with tiktoken from Zoo's `gpt2.tiktoken`
and with `tokenizers` from the GPT-NeoX-20B `tokenizer.json`). A store ingested with another
tokenizer.json records that file's sha256, which the model's file must then match byte for byte.
"""

from .token_store import file_sha256

# Spaces, a tab-free code line, digits and an accent: GPT-2 and GPT-NeoX-20B part ways on each.
PROBE_TEXT = (
    "Zoo probe: The quick brown fox jumps over the lazy dog.\n    def f(x):\n        return x  + 1  # 2026 café"
)

PROBE_IDS = {
    "gpt2": [
        57, 2238, 12774, 25, 383, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 198, 220, 220, 220, 825, 277,
        7, 87, 2599, 198, 220, 220, 220, 220, 220, 220, 220, 1441, 2124, 220, 1343, 352, 220, 1303, 1160, 2075, 40304,
    ],
    "gpt-neox-20b": [
        59, 3288, 10304, 27, 380, 3158, 8516, 30013, 27287, 689, 253, 22658, 4370, 15, 187, 50274, 1545, 269, 9, 89,
        2262, 187, 50270, 2309, 1269, 50276, 12, 337, 50276, 4, 1384, 1731, 36241,
    ],
}


def probe_ids(tokenizer_json):
    """Ids of `PROBE_TEXT` under a `tokenizer.json`, without special tokens."""
    from tokenizers import Tokenizer

    return Tokenizer.from_file(tokenizer_json).encode(PROBE_TEXT, add_special_tokens=False).ids


def tokenizer_mismatch(store, tokenizer_json):
    """None when the model's `tokenizer_json` is the store's tokenizer, else a one-line reason
    naming both sides."""
    if store.tokenizer in PROBE_IDS:
        try:
            ids = probe_ids(tokenizer_json)
        except ImportError:
            return f"checking the model's tokenizer {tokenizer_json} against {store.path} needs tokenizers (pip install tokenizers)"
        except Exception as error:  # a tokenizer.json that tokenizers cannot read
            return f"the model's tokenizer {tokenizer_json} cannot be read: {error}"
        expected = PROBE_IDS[store.tokenizer]
        if ids == expected:
            return None
        at = next((i for i, (a, b) in enumerate(zip(ids, expected)) if a != b), min(len(ids), len(expected)))
        return (
            f"the model's tokenizer {tokenizer_json} is not the store's: {store.path} holds {store.tokenizer} ids "
            f"(the probe text gives {expected[at:at + 4]}... at token {at}, the model's tokenizer {ids[at:at + 4]}...)")
    if store.tokenizer_sha256 and store.tokenizer_sha256 == file_sha256(tokenizer_json):
        return None
    return (
        f"cannot confirm the model's tokenizer {tokenizer_json} (sha256 {file_sha256(tokenizer_json)[:12]}...) is the "
        f"store's: {store.path} was made with tokenizer '{store.tokenizer}' (sha256 {store.tokenizer_sha256[:12] or 'not recorded'}...)")

