"""The shared-prefix sampler: its logits are the model's own on prompts of any length, top-p and EOS behave
as the generate path's, and models it cannot run are refused or fall back to ``generate``."""

from __future__ import annotations

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from prover.policies.hf_policy import HFPolicy, HFPolicyConfig, ModelLoadError
from prover.policies.prefix_sampler import PrefixDecoding, SharedPrefixSampler, unsupported

STATES = ("x : ℕ\n⊢ x + 0 = x", "p q : Prop\nhp : p\nhq : q\n⊢ p ∧ q", "⊢ 1")


def prompts_of(tokenizer) -> list[list[int]]:
    prompts = [tokenizer(f"{s}:::")["input_ids"] for s in STATES]
    assert len({len(p) for p in prompts}) == 3  # three lengths: padding and masking are exercised
    return prompts


def tiny_llama(vocab: int) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         initializer_range=0.2)
    return LlamaForCausalLM(config).eval()


def max_relative_error(model, prompts: list[list[int]], samples: int, steps: int) -> float:
    """The decoder's logits at every sampled position against one unpadded forward pass per row."""
    with torch.inference_mode():
        run = PrefixDecoding(model, prompts, samples, steps, temperature=1.0, keep_logits=True, pad_id=0)
        run.prefill(chunk=2)  # two prefill chunks
        for _ in range(steps - 1):
            run.decode_step()
        worst = 0.0
        for row in range(run.rows):
            prompt = prompts[row // samples]
            ids = torch.tensor([prompt + run.out_tokens[row].tolist()])
            reference = model(input_ids=ids).logits[0, len(prompt) - 1 : len(prompt) - 1 + steps].float()
            ours = run.kept_logits[row]
            worst = max(worst, float(((ours - reference).norm(dim=-1) / reference.norm(dim=-1)).max()))
    return worst


def test_logits_match_the_models_forward_pass_on_prompts_of_different_lengths(tiny_model, tiny_tokenizer):
    assert max_relative_error(tiny_model, prompts_of(tiny_tokenizer), samples=3, steps=7) < 1e-4


def test_a_llama_model_is_supported_too(tiny_tokenizer):
    model = tiny_llama(len(tiny_tokenizer))
    assert unsupported(model) is None
    assert max_relative_error(model, prompts_of(tiny_tokenizer), samples=2, steps=5) < 1e-4


def test_a_tiny_top_p_is_greedy_decoding(tiny_model, tiny_tokenizer):
    sampler = SharedPrefixSampler(tiny_model, temperature=1.3, top_p=1e-6, max_new_tokens=6,
                                  eos_ids=frozenset({-1}), pad_id=tiny_tokenizer.pad_token_id)
    tokens, _ = sampler.sample(prompts_of(tiny_tokenizer), 2)
    for row, prompt in enumerate(prompts_of(tiny_tokenizer)):
        greedy = tiny_model.generate(input_ids=torch.tensor([prompt]), do_sample=False, max_new_tokens=6,
                                     min_new_tokens=6, eos_token_id=None, pad_token_id=0)[0, len(prompt):]
        assert tokens[2 * row].tolist() == greedy.tolist() == tokens[2 * row + 1].tolist()


def test_top_p_keeps_only_the_nucleus(tiny_model, tiny_tokenizer):
    """With top-p 0.5 every sampled token lies in the smallest set of tokens holding half the mass."""
    torch.manual_seed(3)
    with torch.inference_mode():
        run = PrefixDecoding(tiny_model, prompts_of(tiny_tokenizer), 8, 4, temperature=1.0, top_p=0.5,
                             keep_logits=True)
        run.prefill()
        for _ in range(3):
            run.decode_step()
    probs = torch.softmax(run.kept_logits, dim=-1)
    chosen = probs.gather(-1, run.out_tokens[..., None])[..., 0]
    mass_above = (probs * (probs > chosen[..., None])).sum(-1)  # mass of strictly likelier tokens
    assert bool((mass_above <= 0.5 + 1e-6).all())


def test_sampling_stops_once_every_sample_has_ended(tiny_model, tiny_tokenizer):
    eos = tiny_tokenizer.eos_token_id
    sampler = SharedPrefixSampler(tiny_model, temperature=0.7, top_p=1.0, max_new_tokens=64,
                                  eos_ids=frozenset({eos}), pad_id=tiny_tokenizer.pad_token_id)
    torch.manual_seed(0)
    tokens, logprobs = sampler.sample(prompts_of(tiny_tokenizer), 4)
    assert tokens.shape == logprobs.shape and tokens.shape[0] == 12
    assert tokens.shape[1] < 64  # the trained model ends its tactics within a few tokens
    assert all(eos in row for row in tokens.tolist())
    assert bool((logprobs <= 0).all())


def test_unsupported_models_fall_back_to_generate_or_are_refused(tiny_tokenizer):
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tiny_tokenizer), n_embd=32, n_layer=1, n_head=2,
                                       n_positions=128)).eval()
    assert "gpt2" in unsupported(model)
    config = {"model": "tiny-gpt2", "device": "cpu", "max_new_tokens": 4, "seed": 0}
    policy = HFPolicy(HFPolicyConfig(**config), model=model, tokenizer=tiny_tokenizer)
    assert policy.sampler == "generate"
    assert len(policy.sample(list(STATES), 2)[0]) == 2
    with pytest.raises(ModelLoadError, match="shared-prefix sampler cannot run it: model type 'gpt2'"):
        HFPolicy(HFPolicyConfig(**config, sampler="shared-prefix"), model=model, tokenizer=tiny_tokenizer)
    with pytest.raises(ValueError, match="the shared-prefix sampler cannot run this model"):
        SharedPrefixSampler(model, temperature=1.0, top_p=1.0, max_new_tokens=4, eos_ids=frozenset({0}),
                            pad_id=0)


def test_the_default_sampler_is_shared_prefix_for_qwen2(tiny_model, tiny_tokenizer):
    policy = HFPolicy(HFPolicyConfig(device="cpu"), model=tiny_model, tokenizer=tiny_tokenizer)
    assert policy.sampler == "shared-prefix"
    generate = HFPolicy(HFPolicyConfig(device="cpu", sampler="generate"), model=tiny_model,
                        tokenizer=tiny_tokenizer)
    assert generate.sampler == "generate"
    with pytest.raises(ValueError, match="sampler must be one of auto, shared-prefix, generate"):
        HFPolicyConfig(sampler="vllm")


def test_prompts_that_left_the_batch_keep_their_outputs_and_the_rest_decode_on(tiny_model, tiny_tokenizer):
    prompts = prompts_of(tiny_tokenizer)
    with torch.inference_mode():
        run = PrefixDecoding(tiny_model, prompts, 2, 6, temperature=1.0, keep_logits=True, pad_id=0)
        run.prefill()
        for _ in range(2):
            run.decode_step()
        run.keep(torch.tensor([0, 2]))  # prompt 1 leaves after 3 tokens
        assert (run.prompts, run.rows) == (2, 4)
        for _ in range(3):
            run.decode_step()
        for row in range(6):
            prompt, steps = prompts[row // 2], 3 if row in (2, 3) else 6
            ids = torch.tensor([prompt + run.out_tokens[row, :steps].tolist()])
            reference = tiny_model(input_ids=ids).logits[0, len(prompt) - 1 : len(prompt) - 1 + steps]
            ours = run.kept_logits[row, :steps]
            assert float(((ours - reference).norm(dim=-1) / reference.norm(dim=-1)).max()) < 1e-4
            assert not run.kept_logits[row, steps:].any()  # nothing written after a prompt left


def test_the_sampler_drops_finished_prompts_and_stays_exact(tiny_model, tiny_tokenizer, monkeypatch):
    eos = tiny_tokenizer.eos_token_id
    kept = []
    real_keep = PrefixDecoding.keep
    monkeypatch.setattr(PrefixDecoding, "keep", lambda self, prompts: (kept.append(prompts.tolist()),
                                                                        real_keep(self, prompts)))
    # two states the model ends within a few tokens, one it rambles on
    prompts = [*prompts_of(tiny_tokenizer)[:2], tiny_tokenizer("∑ ∏ ∫ ℝ ℂ ζ ψ ω ⊗ ⊕")["input_ids"]]
    sampler = SharedPrefixSampler(tiny_model, temperature=0.7, top_p=1.0, max_new_tokens=48,
                                  eos_ids=frozenset({eos}), pad_id=tiny_tokenizer.pad_token_id)
    torch.manual_seed(0)
    tokens, logprobs = sampler.sample(prompts, 3)
    assert kept and kept[0] == [2]  # the first two prompts left the batch once all their samples ended
    for row in range(9):
        generated = tokens[row].tolist()
        end = generated.index(eos) + 1 if eos in generated else len(generated)
        prompt = prompts[row // 3]
        with torch.inference_mode():
            logits = tiny_model(input_ids=torch.tensor([prompt + generated[:end]])).logits[0].float()
        expected = torch.log_softmax(logits[len(prompt) - 1 : len(prompt) - 1 + end], dim=-1)
        expected = expected.gather(1, torch.tensor(generated[:end])[:, None])[:, 0]
        assert torch.allclose(logprobs[row, :end], expected, atol=1e-4)
