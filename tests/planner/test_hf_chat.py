"""The local transformers planner: a tiny random Qwen2 saved to disk and loaded by path, prompted through a
chat template. Its answers are garbage; the tests check the plumbing (loading, templating, generation,
seeding, errors) and that a garbage answer is a refused plan, not a crash."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from module_loading import load_module
from planner_worlds import THEOREM, ScriptedPlanBackend, policy

from planner import (
    ChatMessage,
    PlannerClient,
    PlannerClientConfig,
    PlannerConfig,
    PlannerModelLoadError,
    PlanStopReason,
    make_planner_client,
    prove_with_planner,
)
from planner.hf_chat import CHATML_TEMPLATE, HFChatPlanner

MESSAGES = [ChatMessage("system", "Answer with have lines."), ChatMessage("user", "theorem t : 1 = 1 :=")]


def _tiny_models() -> ModuleType:
    return load_module("_prover_tests_tiny_models",
                       Path(__file__).resolve().parents[1] / "prover" / "tiny_models.py")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tiny = _tiny_models()
    tokenizer = tiny.tiny_tokenizer()
    model = tiny.tiny_qwen2(tokenizer, train_steps=0)
    return tiny.save_tiny(tmp_path_factory.mktemp("tiny_planner"), model, tokenizer)


def config(model_dir: Path, **settings: object) -> PlannerClientConfig:
    base = {"provider": "hf", "model": str(model_dir), "device": "cpu", "max_tokens": 12, "seed": 3}
    return PlannerClientConfig(**{**base, **settings})  # type: ignore[arg-type]


def test_it_loads_by_path_and_generates(model_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    planner = make_planner_client(config(model_dir))
    assert isinstance(planner, HFChatPlanner) and isinstance(planner, PlannerClient)
    assert planner.tokenizer.chat_template == CHATML_TEMPLATE  # the tiny tokenizer has none
    assert "no chat template" in caplog.text
    first = planner.complete(MESSAGES)
    assert isinstance(first.text, str) and first == planner.complete(MESSAGES)  # seeded: reproducible
    assert first.cut_off  # an untrained model does not end its answer within 12 tokens
    planner.close()


def test_the_tokenizers_own_template_is_used(model_dir: Path) -> None:
    planner = HFChatPlanner(config(model_dir, temperature=0.0))
    template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    planner.tokenizer.chat_template = template
    ids = planner._encode(MESSAGES)
    expected = "[system] Answer with have lines.\n[user] theorem t : 1 = 1 :=\n"
    assert planner.tokenizer.decode(ids[0]) == expected
    assert isinstance(planner.complete(MESSAGES).text, str)  # greedy at temperature 0


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PlannerModelLoadError, match="cannot load planner model"):
        HFChatPlanner(config(tmp_path / "nowhere"))


def test_a_garbage_plan_is_refused_not_a_crash(model_dir: Path) -> None:
    result = prove_with_planner(THEOREM, backend=ScriptedPlanBackend(), policy=policy(),
                                planner_config=PlannerConfig(plan_attempts=2, worked_examples=1),
                                client_config=config(model_dir))
    assert result.stop_reason is PlanStopReason.NO_VALID_PLAN
    assert [a.accepted for a in result.rounds[0].attempts] == [False, False]
    assert result.stats.planner_calls == 2
