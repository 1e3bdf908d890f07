"""Tests of ddk.zoo.decoder: KV-cache prefill/decode against eager PyTorch.

The oracle is PyTorch itself: full-sequence Prefill (no cache) for the cached
Decode path, an independent reference forward (scaled_dot_product_attention
with grouped-query heads) for the Decoder, and eager modules for their
torch.export'ed programs.
"""

from __future__ import annotations

import operator

import pytest
import torch
from torch.export import ExportedProgram
from torch.export.graph_signature import OutputKind

from ddk.ops_meta import OP_BY_NAME
from ddk.zoo.decoder import (
    Decode,
    Decoder,
    DecoderConfig,
    Prefill,
    build_decoder,
    decode_example,
    prefill_example,
)

RTOL = 1e-4
ATOL = 1e-5
PREFILL_LEN = 16


def _close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(actual, expected, rtol=RTOL, atol=ATOL)


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return build_decoder(seed=0)


@pytest.fixture(scope="module")
def config(decoder: Decoder) -> DecoderConfig:
    return decoder.config


@pytest.fixture(scope="module")
def prefill(decoder: Decoder) -> Prefill:
    return Prefill(decoder)


@pytest.fixture(scope="module")
def decode(decoder: Decoder) -> Decode:
    return Decode(decoder)


@pytest.fixture(scope="module")
def tokens(config: DecoderConfig) -> torch.Tensor:
    """A random sequence filling the whole context, [1, max_seq_len]."""
    gen = torch.Generator().manual_seed(1234)
    return torch.randint(0, config.vocab_size, (1, config.max_seq_len), generator=gen)


@pytest.fixture(scope="module")
def exported(prefill: Prefill, decode: Decode, config: DecoderConfig
             ) -> dict[str, tuple[ExportedProgram, tuple[torch.Tensor, ...]]]:
    """Decomposed exports of Prefill (T = PREFILL_LEN) and Decode, with their example args."""
    out = {}
    for name, module, args in (
        ("prefill", prefill, prefill_example(config, PREFILL_LEN)),
        ("decode", decode, decode_example(config, PREFILL_LEN)),
    ):
        out[name] = (torch.export.export(module, args).run_decompositions(), args)
    return out


def _op_key(target) -> str:
    schema = target._schema
    return schema.name + ("." + schema.overload_name if schema.overload_name else "")


def _pos(p: int) -> torch.Tensor:
    return torch.tensor([p], dtype=torch.int64)


def _reference_logits(decoder: Decoder, tokens: torch.Tensor) -> torch.Tensor:
    """Causal logits [1, T, vocab] computed independently of Decoder's attention code:
    complex-free rotate-half RoPE from the config, and torch's SDPA with GQA."""
    c = decoder.config
    t, hd = tokens.shape[1], c.head_dim
    half = hd // 2
    inv_freq = c.rope_theta ** (-torch.arange(half, dtype=torch.float64) * 2 / hd)
    angles = torch.arange(t, dtype=torch.float64)[:, None] * inv_freq[None, :]
    cos = torch.cat((angles.cos(), angles.cos()), -1).float()
    sin = torch.cat((angles.sin(), angles.sin()), -1).float()

    def rope(x: torch.Tensor) -> torch.Tensor:
        rotated_half = torch.cat((-x[..., half:], x[..., :half]), -1)
        return x * cos + rotated_half * sin

    def rms(x: torch.Tensor, norm) -> torch.Tensor:
        return torch.nn.functional.rms_norm(x, (c.dim,), norm.weight, c.norm_eps)

    def heads(x: torch.Tensor, n: int) -> torch.Tensor:
        return x.view(1, t, n, hd).transpose(1, 2)

    h = torch.nn.functional.embedding(tokens, decoder.tok_embeddings.weight)
    for layer in decoder.layers:
        a, x = layer.attention, rms(h, layer.attention_norm)
        q = rope(heads(x @ a.wq.weight.T, c.n_heads))
        k = rope(heads(x @ a.wk.weight.T, c.n_kv_heads))
        v = heads(x @ a.wv.weight.T, c.n_kv_heads)
        o = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                             enable_gqa=True)
        h = h + o.transpose(1, 2).reshape(1, t, c.dim) @ a.wo.weight.T
        f, x = layer.feed_forward, rms(h, layer.ffn_norm)
        h = h + (torch.nn.functional.silu(x @ f.w1.weight.T) * (x @ f.w3.weight.T)) @ f.w2.weight.T
    return rms(h, decoder.norm) @ decoder.output.weight.T


@torch.no_grad()
def test_decoder_matches_independent_reference(decoder: Decoder, prefill: Prefill,
                                               tokens: torch.Tensor) -> None:
    expected = _reference_logits(decoder, tokens[:, :24])
    _close(decoder(tokens[:, :24]), expected)
    _close(prefill(tokens[:, :24])[0], expected)


def test_build_decoder_is_seeded_and_keeps_global_rng() -> None:
    small = DecoderConfig(n_layers=1)
    state = torch.get_rng_state()
    a, b, other = build_decoder(3, small), build_decoder(3, small), build_decoder(4, small)
    assert torch.equal(torch.get_rng_state(), state)
    assert not a.training
    for (name, pa), pb, po in zip(a.named_parameters(), b.parameters(), other.parameters()):
        assert torch.equal(pa, pb), name
        assert not torch.equal(pa, po), name


@torch.no_grad()
@pytest.mark.parametrize("t", [1, 9, PREFILL_LEN, 63])
def test_decode_after_prefill_matches_longer_prefill(prefill: Prefill, decode: Decode,
                                                     tokens: torch.Tensor, t: int) -> None:
    _, k_cache, v_cache = prefill(tokens[:, :t])
    logits, new_k, new_v = decode(tokens[:, t:t + 1], _pos(t), k_cache, v_cache)
    full_logits, full_k, full_v = prefill(tokens[:, :t + 1])
    assert logits.shape == (1, 1, full_logits.shape[-1])
    _close(logits, full_logits[:, -1:])
    _close(new_k, full_k)
    _close(new_v, full_v)
    # Only position t was written; the rest of the cache is carried over exactly.
    keep = torch.ones(new_k.shape[3], dtype=torch.bool)
    keep[t] = False
    assert torch.equal(new_k[:, :, :, keep], k_cache[:, :, :, keep])
    assert torch.equal(new_v[:, :, :, keep], v_cache[:, :, :, keep])
    assert new_k[:, :, :, t].abs().min() > 0 and new_v[:, :, :, t].abs().min() > 0


@torch.no_grad()
def test_prefill_is_causal(prefill: Prefill, tokens: torch.Tensor,
                           config: DecoderConfig) -> None:
    t = 10
    changed = tokens[:, :PREFILL_LEN].clone()
    changed[:, t + 1:] = (changed[:, t + 1:] + 1) % config.vocab_size
    logits, k_cache, v_cache = prefill(tokens[:, :PREFILL_LEN])
    logits2, k_cache2, v_cache2 = prefill(changed)
    _close(logits2[:, :t + 1], logits[:, :t + 1])
    _close(k_cache2[:, :, :, :t + 1], k_cache[:, :, :, :t + 1])
    _close(v_cache2[:, :, :, :t + 1], v_cache[:, :, :, :t + 1])
    # The change is visible after t, so the comparison above is not vacuous.
    assert not torch.allclose(logits2[:, t + 1:], logits[:, t + 1:], rtol=RTOL, atol=ATOL)


@torch.no_grad()
@pytest.mark.parametrize("t", [1, PREFILL_LEN, 64])
def test_prefill_cache_zero_beyond_prompt(prefill: Prefill, tokens: torch.Tensor,
                                          config: DecoderConfig, t: int) -> None:
    logits, k_cache, v_cache = prefill(tokens[:, :t])
    assert logits.shape == (1, t, config.vocab_size) and logits.dtype == torch.float32
    for cache in (k_cache, v_cache):
        assert cache.shape == config.cache_shape() and cache.dtype == torch.float32
        assert torch.count_nonzero(cache[:, :, :, t:]) == 0
        assert cache[:, :, :, :t].abs().amin(dim=-1).min() > 0


@torch.no_grad()
def test_decode_leaves_inputs_and_ignores_unwritten_positions(
        decode: Decode, config: DecoderConfig) -> None:
    pos = 20
    token, input_pos, k_cache, v_cache = decode_example(config, pos, seed=5)
    assert torch.count_nonzero(k_cache[:, :, :, pos:]) == 0
    assert k_cache[:, :, :, :pos].abs().min() > 0
    inputs = (token, input_pos, k_cache, v_cache)
    saved = [x.clone() for x in inputs]
    logits, new_k, new_v = decode(*inputs)
    for x, before in zip(inputs, saved):
        assert torch.equal(x, before)
    assert torch.count_nonzero(new_k[:, :, :, pos + 1:]) == 0
    assert torch.count_nonzero(new_v[:, :, :, pos + 1:]) == 0
    # Garbage at position pos (overwritten) and after it (masked) changes nothing.
    gen = torch.Generator().manual_seed(9)
    k_dirty, v_dirty = k_cache.clone(), v_cache.clone()
    k_dirty[:, :, :, pos:] = 10 * torch.randn(k_dirty[:, :, :, pos:].shape, generator=gen)
    v_dirty[:, :, :, pos:] = 10 * torch.randn(v_dirty[:, :, :, pos:].shape, generator=gen)
    logits2, new_k2, new_v2 = decode(token, input_pos, k_dirty, v_dirty)
    _close(logits2, logits)
    assert torch.equal(new_k2[:, :, :, :pos + 1], new_k[:, :, :, :pos + 1])
    assert torch.equal(new_v2[:, :, :, :pos + 1], new_v[:, :, :, :pos + 1])
    assert torch.isfinite(logits2).all()


@pytest.mark.parametrize("name", ["prefill", "decode"])
def test_export_uses_table_ops_without_mutation(exported, name: str) -> None:
    ep, args = exported[name]
    targets = {node.target for node in ep.graph.nodes if node.op == "call_function"}
    missing = sorted(_op_key(t) for t in targets - {operator.getitem}
                     if _op_key(t) not in OP_BY_NAME)
    assert not missing, f"ops outside the DDK op table: {missing}"
    sig = ep.graph_signature
    assert not sig.user_inputs_to_mutate and not sig.buffers_to_mutate
    assert all(spec.kind == OutputKind.USER_OUTPUT for spec in sig.output_specs)
    assert len(sig.user_outputs) == 3


@torch.no_grad()
def test_exported_prefill_matches_eager(exported, prefill: Prefill, tokens: torch.Tensor) -> None:
    run = exported["prefill"][0].module()
    for prompt in (exported["prefill"][1][0], tokens[:, :PREFILL_LEN]):
        for got, want in zip(run(prompt), prefill(prompt), strict=True):
            _close(got, want)


@torch.no_grad()
@pytest.mark.parametrize("pos", [0, 5, PREFILL_LEN, 63])
def test_exported_decode_matches_eager(exported, decode: Decode, config: DecoderConfig,
                                       pos: int) -> None:
    run = exported["decode"][0].module()
    args = decode_example(config, pos, seed=pos + 1)
    saved = [x.clone() for x in args]
    got = run(*args)
    for x, before in zip(args, saved):
        assert torch.equal(x, before)
    for g, w in zip(got, decode(*args), strict=True):
        _close(g, w)


def _greedy(prefill, decode, prompt: torch.Tensor, steps: int
            ) -> tuple[list[int], list[torch.Tensor]]:
    """Greedy tokens and each step's logits [vocab]: one prefill, then decode steps."""
    logits, k_cache, v_cache = prefill(prompt)
    last = logits[0, -1]
    new_tokens, step_logits = [], [last]
    for i in range(steps):
        token = int(last.argmax())
        new_tokens.append(token)
        pos = _pos(prompt.shape[1] + i)
        logits, k_cache, v_cache = decode(torch.tensor([[token]]), pos, k_cache, v_cache)
        last = logits[0, -1]
        step_logits.append(last)
    return new_tokens, step_logits


@torch.no_grad()
def test_greedy_generation_matches_repeated_prefill(exported, prefill: Prefill,
                                                    decode: Decode,
                                                    tokens: torch.Tensor) -> None:
    steps = 4
    seq = tokens[:, :PREFILL_LEN]
    want_tokens, want_logits = [], []
    for _ in range(steps + 1):
        last = prefill(seq)[0][0, -1]
        want_logits.append(last)
        token = int(last.argmax())
        want_tokens.append(token)
        seq = torch.cat((seq, torch.tensor([[token]])), dim=1)
    want_tokens = want_tokens[:steps]

    runs = {
        "eager": (prefill, decode),
        "exported": (exported["prefill"][0].module(), exported["decode"][0].module()),
    }
    for label, (run_prefill, run_decode) in runs.items():
        got_tokens, got_logits = _greedy(run_prefill, run_decode, tokens[:, :PREFILL_LEN], steps)
        assert got_tokens == want_tokens, label
        for got, want in zip(got_logits, want_logits, strict=True):
            _close(got, want)
