"""A small Llama-style decoder, with prefill and single-token decode wrappers.

The model is written in plain PyTorch so that

    torch.export.export(module, args).run_decompositions()

yields only core-ATen ops the DDK runtime has kernels for
(``ddk.ops_meta.OP_BY_NAME``): RMSNorm is spelled out with ``rsqrt`` and
``mean``, rotary embeddings use real ``cos``/``sin`` tables and slices, the
SwiGLU gate uses ``silu`` (decomposed to ``x * sigmoid(x)``), grouped-query
attention repeats K/V heads with ``expand`` + ``reshape``, and attention is
written by hand (``bmm`` + ``_softmax``) with a ``where`` mask.

    decoder = build_decoder(seed=0)
    logits, k_cache, v_cache = Prefill(decoder)(*prefill_example(decoder.config))
    logits, k_cache, v_cache = Decode(decoder)(token, input_pos, k_cache, v_cache)

The KV caches are float32 tensors of shape
``[n_layers, 1, n_kv_heads, max_seq_len, head_dim]``; K is stored after the
rotary rotation. ``Decode`` updates them functionally (it returns new caches
and never writes to its inputs), so an exported program has no input or
buffer mutations. Shapes are static: the prefill length is fixed when
``Prefill`` is exported, and the caches always span ``max_seq_len``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "DecoderConfig",
    "Decoder",
    "Prefill",
    "Decode",
    "build_decoder",
    "prefill_example",
    "decode_example",
]

# Added to masked attention scores. Finite, so that the masked softmax can
# never produce inf - inf; every query attends to at least its own position,
# so each row keeps a finite maximum and exp() of the masked entries is 0.
_MASKED_SCORE = -1e30


@dataclass(frozen=True)
class DecoderConfig:
    """Hyper-parameters of a :class:`Decoder`."""

    vocab_size: int = 512
    dim: int = 128
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int = 2  # grouped-query attention
    ffn_hidden: int = 352  # SwiGLU hidden size
    max_seq_len: int = 64
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        if self.dim % self.n_heads:
            raise ValueError(f"dim {self.dim} is not a multiple of n_heads {self.n_heads}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(
                f"n_heads {self.n_heads} is not a multiple of n_kv_heads {self.n_kv_heads}")
        if self.head_dim % 2:
            raise ValueError(f"head_dim {self.head_dim} must be even for rotary embeddings")

    @property
    def head_dim(self) -> int:
        """Size of one attention head."""
        return self.dim // self.n_heads

    def cache_shape(self) -> tuple[int, int, int, int, int]:
        """Shape of the K and V caches: [n_layers, 1, n_kv_heads, max_seq_len, head_dim]."""
        return (self.n_layers, 1, self.n_kv_heads, self.max_seq_len, self.head_dim)


class RMSNorm(nn.Module):
    """Root-mean-square layer norm over the last dimension, with a weight."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``x * rsqrt(mean(x * x, -1) + eps) * weight``."""
        return x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + self.eps) * self.weight


def _rotary_tables(config: DecoderConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables, each [max_seq_len, head_dim / 2] float32."""
    half = config.head_dim // 2
    inv_freq = 1.0 / (config.rope_theta ** (torch.arange(half, dtype=torch.float64) / half))
    angles = torch.outer(torch.arange(config.max_seq_len, dtype=torch.float64), inv_freq)
    return torch.cos(angles).float(), torch.sin(angles).float()


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of x [1, heads, T, head_dim] with cos/sin [T, head_dim / 2].

    The pairs rotated together are (x[..., i], x[..., i + head_dim / 2]).
    """
    half = x.shape[-1] // 2
    x1 = x[..., :half]
    x2 = x[..., half:]
    return torch.cat((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)


class Attention(nn.Module):
    """Grouped-query self-attention with rotary embeddings and no biases."""

    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.n_kv_heads = config.n_kv_heads
        self.head_dim = config.head_dim
        self.wq = nn.Linear(config.dim, config.n_heads * config.head_dim, bias=False)
        self.wk = nn.Linear(config.dim, config.n_kv_heads * config.head_dim, bias=False)
        self.wv = nn.Linear(config.dim, config.n_kv_heads * config.head_dim, bias=False)
        self.wo = nn.Linear(config.n_heads * config.head_dim, config.dim, bias=False)

    def project(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q [1, n_heads, T, hd], k and v [1, n_kv_heads, T, hd] of x [1, T, dim]; q, k rotated."""
        t = x.shape[1]
        q = self.wq(x).view(1, t, self.n_heads, self.head_dim).permute(0, 2, 1, 3)
        k = self.wk(x).view(1, t, self.n_kv_heads, self.head_dim).permute(0, 2, 1, 3)
        v = self.wv(x).view(1, t, self.n_kv_heads, self.head_dim).permute(0, 2, 1, 3)
        return _rotate(q, cos, sin), _rotate(k, cos, sin), v

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
               mask: torch.Tensor) -> torch.Tensor:
        """Attention output [1, T, dim] of q [1, H, T, hd] over k, v [1, Hkv, S, hd].

        ``mask`` is a bool tensor broadcastable to [1, H, T, S]; True keeps a score.
        """
        t, s = q.shape[2], k.shape[2]
        rep = self.n_heads // self.n_kv_heads
        k = k[:, :, None].expand(1, self.n_kv_heads, rep, s, self.head_dim)
        k = k.reshape(1, self.n_heads, s, self.head_dim)
        v = v[:, :, None].expand(1, self.n_kv_heads, rep, s, self.head_dim)
        v = v.reshape(1, self.n_heads, s, self.head_dim)
        scores = torch.matmul(q, k.transpose(-2, -1)) * (self.head_dim ** -0.5)
        scores = torch.where(mask, scores, _MASKED_SCORE)
        out = torch.matmul(torch.softmax(scores, dim=-1), v)
        return self.wo(out.permute(0, 2, 1, 3).reshape(1, t, self.n_heads * self.head_dim))


class FeedForward(nn.Module):
    """SwiGLU feed-forward: w2(silu(w1 x) * w3 x), no biases."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the feed-forward output of x [..., dim]."""
        return self.w2(nn.functional.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    """The weights of one pre-norm transformer block (attention and SwiGLU FFN,
    each residual); :class:`Decoder` and :class:`Decode` run its two halves."""

    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.attention_norm = RMSNorm(config.dim, config.norm_eps)
        self.attention = Attention(config)
        self.ffn_norm = RMSNorm(config.dim, config.norm_eps)
        self.feed_forward = FeedForward(config.dim, config.ffn_hidden)


class Decoder(nn.Module):
    """Llama-style decoder: embedding, ``n_layers`` blocks, final RMSNorm, lm head.

    ``forward(tokens [1, T])`` returns logits [1, T, vocab] with a causal mask
    (no cache); :class:`Prefill` and :class:`Decode` wrap the same weights for
    cached generation.
    """

    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.config = config
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.dim)
        self.layers = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.norm = RMSNorm(config.dim, config.norm_eps)
        self.output = nn.Linear(config.dim, config.vocab_size, bias=False)
        cos, sin = _rotary_tables(config)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def prefill(self, tokens: torch.Tensor
                ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Logits [1, T, vocab] of tokens [1, T] at positions 0..T-1, and each
        layer's rotated K and V, [1, n_kv_heads, T, head_dim]."""
        t = tokens.shape[1]
        cos, sin = self.rope_cos[:t], self.rope_sin[:t]
        pos = torch.arange(t, device=tokens.device)
        causal = pos[:, None] >= pos[None, :]  # [T, T]: query row, key column
        h = self.tok_embeddings(tokens)
        ks, vs = [], []
        for layer in self.layers:
            q, k, v = layer.attention.project(layer.attention_norm(h), cos, sin)
            h = h + layer.attention.attend(q, k, v, causal)
            h = h + layer.feed_forward(layer.ffn_norm(h))
            ks.append(k)
            vs.append(v)
        return self.output(self.norm(h)), ks, vs

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [1, T, vocab] of tokens [1, T] (int64) at positions 0..T-1."""
        return self.prefill(tokens)[0]


class Prefill(nn.Module):
    """Run a prompt and fill the KV caches.

    ``forward(tokens: int64 [1, T]) -> (logits float32 [1, T, vocab], k_cache, v_cache)``;
    the caches are float32 [n_layers, 1, n_kv_heads, max_seq_len, head_dim]
    holding K (after rotary) and V for positions 0..T-1 and zeros elsewhere.
    """

    def __init__(self, decoder: Decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, tokens: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits and caches of the prompt ``tokens`` [1, T], T <= max_seq_len."""
        config = self.decoder.config
        t = tokens.shape[1]
        if t > config.max_seq_len:
            raise ValueError(f"prompt length {t} exceeds max_seq_len {config.max_seq_len}")
        logits, ks, vs = self.decoder.prefill(tokens)
        pad = (0, 0, 0, config.max_seq_len - t)  # zeros after position T-1 on dim 2
        k_cache = torch.stack([nn.functional.pad(k, pad) for k in ks])
        v_cache = torch.stack([nn.functional.pad(v, pad) for v in vs])
        return logits, k_cache, v_cache


class Decode(nn.Module):
    """Run one token against the KV caches.

    ``forward(token: int64 [1, 1], input_pos: int64 [1], k_cache, v_cache)
    -> (logits [1, 1, vocab], new_k_cache, new_v_cache)``: the token sits at
    position ``input_pos`` and attends to cache positions <= input_pos. The new
    caches equal the old ones with position ``input_pos`` written; the inputs
    are not modified.
    """

    def __init__(self, decoder: Decoder):
        super().__init__()
        self.decoder = decoder

    def forward(self, token: torch.Tensor, input_pos: torch.Tensor,
                k_cache: torch.Tensor, v_cache: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits of ``token`` at ``input_pos`` (0 <= input_pos < max_seq_len) and the new caches."""
        dec = self.decoder
        cos = dec.rope_cos.index_select(0, input_pos)  # [1, head_dim / 2]
        sin = dec.rope_sin.index_select(0, input_pos)
        positions = torch.arange(dec.config.max_seq_len, device=token.device)
        visible = positions <= input_pos  # [max_seq_len], broadcast over the scores
        # A layer's cache is [1, n_kv_heads, max_seq_len, head_dim]: index the position
        # axis. The aten op is called directly because Tensor.index_put takes no None
        # indices; it returns a new tensor, so the caller's caches are not written.
        cache_index = [None, None, input_pos]
        h = dec.tok_embeddings(token)
        new_ks, new_vs = [], []
        for i, layer in enumerate(dec.layers):
            q, k, v = layer.attention.project(layer.attention_norm(h), cos, sin)
            layer_k = torch.ops.aten.index_put(k_cache[i], cache_index, k)
            layer_v = torch.ops.aten.index_put(v_cache[i], cache_index, v)
            h = h + layer.attention.attend(q, layer_k, layer_v, visible)
            h = h + layer.feed_forward(layer.ffn_norm(h))
            new_ks.append(layer_k)
            new_vs.append(layer_v)
        return dec.output(dec.norm(h)), torch.stack(new_ks), torch.stack(new_vs)


def build_decoder(seed: int = 0, config: DecoderConfig | None = None) -> Decoder:
    """A :class:`Decoder` in eval mode with random weights drawn after
    ``torch.manual_seed(seed)``: normal(0, 0.02) for linear and embedding
    weights, 1 + normal(0, 0.02) for RMSNorm weights. The global RNG state of
    the caller is left as it was."""
    config = config or DecoderConfig()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        decoder = Decoder(config)
        with torch.no_grad():
            for module in decoder.modules():
                if isinstance(module, (nn.Linear, nn.Embedding)):
                    module.weight.normal_(0.0, 0.02)
                elif isinstance(module, RMSNorm):
                    module.weight.copy_(1.0 + 0.02 * torch.randn_like(module.weight))
    return decoder.eval()


def prefill_example(config: DecoderConfig, seq_len: int = 16, seed: int = 0
                    ) -> tuple[torch.Tensor]:
    """Example input of :class:`Prefill`: random tokens, int64 [1, seq_len]."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.randint(0, config.vocab_size, (1, seq_len), generator=gen),)


def decode_example(config: DecoderConfig, pos: int = 16, seed: int = 0
                   ) -> tuple[torch.Tensor, ...]:
    """Example inputs of :class:`Decode`: ``(token [1, 1], input_pos [1],
    k_cache, v_cache)`` with a random token at position ``pos`` and caches
    holding random values at positions < pos and zeros from pos on."""
    if not 0 <= pos < config.max_seq_len:
        raise ValueError(f"pos {pos} outside [0, {config.max_seq_len})")
    gen = torch.Generator().manual_seed(seed)
    token = torch.randint(0, config.vocab_size, (1, 1), generator=gen)
    k_cache = torch.zeros(config.cache_shape())
    v_cache = torch.zeros(config.cache_shape())
    k_cache[:, :, :, :pos] = torch.randn(k_cache[:, :, :, :pos].shape, generator=gen)
    v_cache[:, :, :, :pos] = torch.randn(v_cache[:, :, :, :pos].shape, generator=gen)
    return token, torch.tensor([pos], dtype=torch.int64), k_cache, v_cache
