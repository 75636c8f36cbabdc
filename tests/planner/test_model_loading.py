"""The one model loader (``planner.model_loading.load_causal_lm``): a tiny Qwen2 saved to disk, loaded by
path with the project's device and dtype conventions, and each way a load fails as a ``ModelLoadError``.
The HF policy, the HF planner, training and perplexity scoring all load through it: no other module of the
project calls ``from_pretrained``."""

from __future__ import annotations

import ast
import json
import socket
from pathlib import Path
from types import ModuleType

import pytest
import torch
from module_loading import load_module
from transformers import AutoTokenizer

from planner.model_loading import check_model_reference, load_causal_lm, resolve_dtype
from search.errors import ModelLoadError

ROOT = Path(__file__).resolve().parents[2]
LOADER = ROOT / "planner" / "model_loading.py"


def _tiny_models() -> ModuleType:
    return load_module("_prover_tests_tiny_models", ROOT / "tests" / "prover" / "tiny_models.py")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tiny = _tiny_models()
    tokenizer = tiny.tiny_tokenizer()
    model = tiny.tiny_qwen2(tokenizer, train_steps=0)
    return tiny.save_tiny(tmp_path_factory.mktemp("tiny_loader"), model, tokenizer)


def test_a_saved_directory_loads_where_auto_says_in_eval_mode(model_dir: Path) -> None:
    model, tokenizer = load_causal_lm(str(model_dir))  # device and dtype "auto"
    cuda = torch.cuda.is_available()
    assert model.device.type == ("cuda" if cuda else "cpu")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16 if cuda else torch.float32}
    assert not model.training
    text = "h : a ≤ b\n⊢ a < b + 1:::"
    assert tokenizer(text)["input_ids"] == AutoTokenizer.from_pretrained(model_dir)(text)["input_ids"]


def test_a_named_dtype_is_used_as_given(model_dir: Path) -> None:
    model, _ = load_causal_lm(str(model_dir), device="cpu", dtype="bfloat16")
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_auto_dtype_is_bfloat16_on_cuda_and_float32_elsewhere() -> None:
    assert resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    assert resolve_dtype("float16", torch.device("cpu")) == torch.float16
    with pytest.raises(ValueError, match="int8"):
        resolve_dtype("int8", torch.device("cpu"))


def test_a_missing_local_path_fails_before_any_model_library_loads(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("from_pretrained was called for a path that does not exist")

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", never)
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelLoadError, match="no such directory") as info:
        load_causal_lm(str(missing))
    assert info.value.model == str(missing)
    with pytest.raises(ModelLoadError, match="no such directory"):
        check_model_reference(str(missing))
    check_model_reference("owner/hub-model")  # a hub id is left to the hub


def test_a_directory_without_a_model_names_the_part_and_the_offline_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"(?s)tokenizer: .*HF_HUB_OFFLINE=1") as info:
        load_causal_lm(str(tmp_path))
    assert str(info.value).startswith(f"cannot load step-prover model {str(tmp_path)!r}: tokenizer:")


def test_weights_that_do_not_load_are_a_model_error(model_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in model_dir.iterdir():
        if item.name != "config.json" and item.is_file():
            (broken / item.name).write_bytes(item.read_bytes())
    (broken / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    with pytest.raises(ModelLoadError, match=r": model: .*no-such-architecture"):
        load_causal_lm(str(broken), device="cpu")


def test_truncated_weights_are_a_model_error_naming_the_model(model_dir: Path, tmp_path: Path) -> None:
    """A checkpoint cut short (a kill or a full disk while it was written) is a clear error, not
    safetensors' own traceback."""
    cut = tmp_path / "cut"
    cut.mkdir()
    for item in model_dir.iterdir():
        if item.is_file():
            (cut / item.name).write_bytes(item.read_bytes())
    weights = cut / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelLoadError, match=r"cut.*model weights unreadable") as caught:
        load_causal_lm(str(cut), device="cpu")
    assert "SafetensorError" in str(caught.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where CUDA is missing")
def test_cuda_without_cuda_is_a_model_error(model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="CUDA is not available"):
        load_causal_lm(str(model_dir), device="cuda")


def test_require_eos_refuses_a_tokenizer_without_one(model_dir: Path, tmp_path: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.eos_token = None
    no_eos = tmp_path / "no_eos"
    no_eos.mkdir()
    for item in model_dir.iterdir():
        if item.is_file():
            (no_eos / item.name).write_bytes(item.read_bytes())
    tokenizer.save_pretrained(no_eos)
    assert AutoTokenizer.from_pretrained(no_eos).eos_token_id is None
    load_causal_lm(str(no_eos), device="cpu")  # a policy may take its EOS from the generation config
    with pytest.raises(ModelLoadError, match="no EOS token"):
        load_causal_lm(str(no_eos), device="cpu", require_eos=True)


def _calls_from_pretrained(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "from_pretrained"]


def test_no_other_module_of_the_project_loads_a_model() -> None:
    assert _calls_from_pretrained(LOADER)
    sources = [path for package in ("search", "planner", "prover") for path in (ROOT / package).rglob("*.py")]
    elsewhere = {str(path.relative_to(ROOT)): lines for path in sorted(sources)
                 if path != LOADER and (lines := _calls_from_pretrained(path))}
    assert elsewhere == {}, f"load models with planner.model_loading.load_causal_lm, not: {elsewhere}"


def test_a_hub_model_missing_from_the_cache_is_announced_before_the_hub_is_tried(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Without network access the hub is retried for about a minute: the user hears why it waits."""
    from planner.model_loading import announce_download

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with caplog.at_level("WARNING"):
        assert announce_download("someone/not-cached", unreachable=lambda: None)
    assert "someone/not-cached is not in the Hugging Face cache" in caplog.text
    assert not announce_download(str(tmp_path))  # a local folder: nothing to fetch
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base").mkdir()
    assert not announce_download("base")  # a folder named without ./ is local too
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not announce_download("someone/not-cached")  # offline: the error comes at once


def test_a_hub_that_cannot_be_reached_is_an_error_at_once(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """No network: no minute of retries before the error."""
    from planner.model_loading import announce_download, hub_unreachable

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(ModelLoadError, match=r"not in the local Hugging Face cache, and hub\.test cannot be "
                                             r"reached \(refused\)"):
        announce_download("someone/not-cached", unreachable=lambda: "hub.test cannot be reached (refused)")
    with socket.socket() as probe:  # a port nothing listens at
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", f"http://127.0.0.1:{port}")
    assert hub_unreachable(timeout=2.0).startswith("127.0.0.1 cannot be reached")
