"""Loading a causal LM and its tokenizer the one way the project does: for the step prover's policy, the
local planner, training and perplexity scoring.

The conventions: a model is a local directory (``~`` expanded) or a Hugging Face hub id; a local path that
does not exist fails at once, before any model library loads (``check_model_reference``, which drivers also
call before they start workers); device ``auto`` is CUDA when present, else the CPU; dtype ``auto`` is
bfloat16 on CUDA (the checkpoints' training dtype) and float32 elsewhere; a load that fails names the model
and how to get a hub model offline; the model comes back on its device in eval mode.

It lives in ``planner``, the lowest package that runs a model (the local planner), so that ``prover`` can
share it. Importing it is cheap: torch and transformers are imported by ``load_causal_lm`` only.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from search.errors import ModelLoadError

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

DTYPE_NAMES = ("auto", "float32", "bfloat16", "float16")
DEVICE_PATTERN = r"auto|cpu|mps|cuda(:\d+)?"
OFFLINE_HINT = (
    "if it is a hub id, download it first where there is network access (`hf download {name}`) and set "
    "HF_HUB_OFFLINE=1 to use the cache, or pass the local directory holding config.json and the weights"
)


def looks_like_local_path(name: str) -> bool:
    """Hub ids are ``owner/name``; anything absolute, dotted, home-based or nested deeper is a path."""
    if os.path.isabs(name) or name.startswith((".", "~")) or name.count("/") > 1:
        return True
    return os.sep != "/" and os.sep in name


def check_model_reference(name: str) -> None:
    """Fail fast (no network round trip, no model library) for a local path that does not exist: raises
    ``ModelLoadError``. Drivers call it before they start workers or servers that would load ``name``."""
    if looks_like_local_path(name) and not os.path.isdir(os.path.expanduser(name)):
        raise ModelLoadError(name, "no such directory; pass an existing model directory or a hub id")


def hub_unreachable(timeout: float = 5.0) -> str | None:
    """Why the Hugging Face hub (``$HF_ENDPOINT``) cannot be reached from here, or ``None`` when a
    connection to it opens within ``timeout`` seconds."""
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    url = urlsplit(constants.ENDPOINT)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return f"{host} cannot be reached ({exc.strerror or exc})"
    return None


def announce_download(name: str, unreachable: Callable[[], str | None] = hub_unreachable) -> bool:
    """Say (a warning) when hub id ``name`` is not in the local Hugging Face cache, so that the download
    is not silence; whether it said so. When the hub cannot be reached (``unreachable`` says why), a
    ``ModelLoadError`` at once instead of the minute of retries the download would spend before one."""
    if looks_like_local_path(name) or os.path.isdir(os.path.expanduser(name)) \
            or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return False
    why = unreachable()
    if why is not None:
        raise ModelLoadError(name, f"not in the local Hugging Face cache, and {why}: download it where there "
                                   "is network access (`huggingface-cli download NAME`), or give a local "
                                   "model folder")
    logger.warning("%s is not in the Hugging Face cache: fetching it from the hub", name)
    return True


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> cuda when available, else cpu; any other name as given."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """One of ``DTYPE_NAMES``; ``"auto"`` -> bfloat16 on cuda, float32 elsewhere. Raises ``ValueError`` for
    another name."""
    import torch

    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if dtype not in DTYPE_NAMES:
        raise ValueError(f"dtype must be one of {DTYPE_NAMES}, got {dtype!r}")
    chosen: torch.dtype = getattr(torch, dtype)
    return chosen


def load_tokenizer(name: str, *, require_eos: bool = False) -> PreTrainedTokenizerBase:
    """The tokenizer of the model at ``name`` alone (counting tokens needs no weights).

    Raises ``ModelLoadError`` for a local path that does not exist, a tokenizer that does not load, or
    (``require_eos``) one without an EOS token."""
    from transformers import AutoTokenizer

    check_model_reference(name)
    announce_download(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(os.path.expanduser(name))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(name, f"tokenizer: {exc}; {OFFLINE_HINT.format(name=name)}") from exc
    if require_eos and tokenizer.eos_token_id is None:
        raise ModelLoadError(name, "the tokenizer has no EOS token to end tactics with")
    return tokenizer


def load_causal_lm(name: str, *, device: str = "auto", dtype: str = "auto", require_eos: bool = False,
                   ) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The model at ``name`` (on ``device``, in ``dtype``, in eval mode) and its tokenizer.

    ``require_eos``: the tokenizer must name an EOS token (training and scoring end every tactic with it).
    Raises ``ModelLoadError``: a local path that does not exist, a CUDA device where CUDA is not available,
    a tokenizer or model that does not load, or a missing EOS token.
    """
    from transformers import AutoModelForCausalLM

    check_model_reference(name)
    where = resolve_device(device)
    if where.type == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ModelLoadError(name, f"device {device!r} was asked for but CUDA is not available")
    weights = resolve_dtype(dtype, where)
    path = os.path.expanduser(name)
    tokenizer = load_tokenizer(name, require_eos=require_eos)
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=weights)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(name, f"model: {exc}; {OFFLINE_HINT.format(name=name)}") from exc
    except Exception as exc:  # unreadable weights: safetensors' SafetensorError, torch's RuntimeError
        if not _unreadable_weights(exc):
            raise
        raise ModelLoadError(name, f"model weights unreadable ({type(exc).__name__}: {exc}): the checkpoint "
                                   "is damaged or was cut short; train or download it again") from exc
    # transformers wraps PreTrainedModel.to with functools.wraps, and typeshed's _Wrapped is no descriptor:
    # mypy reads the bound call as unbound (the device as ``self``)
    model = model.to(where).eval()  # type: ignore[arg-type]
    logger.info("loaded %s on %s as %s", name, where, weights)
    return model, tokenizer


def end_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> frozenset[int]:
    """The tokens generation stops at: the tokenizer's EOS and any the model's generation config names (a
    chat model's end of turn, such as Qwen's ``<|im_end|>``); empty when neither names one."""
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    configured: Any = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured is not None:
        ids.update(int(i) for i in configured)
    return frozenset(ids)


def _unreadable_weights(exc: BaseException) -> bool:
    """Whether ``exc`` says a checkpoint's weights cannot be read (a truncated or damaged file)."""
    from safetensors import SafetensorError

    return isinstance(exc, (SafetensorError, RuntimeError, EOFError))
