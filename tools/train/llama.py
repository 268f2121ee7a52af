"""A Llama decoder in plain PyTorch that matches Hugging Face's LlamaForCausalLM exactly.

Same parameter names (so the state dict is the checkpoint), RMSNorm computed in f32 as
`w * (x * rsqrt(mean(x^2) + eps))`, rotary embedding in HF's half-split convention
(`rotate_half`: the first and second halves of each head are the pair), grouped-query attention
where KV head j serves query heads j*n_rep .. j*n_rep+n_rep-1 (HF `repeat_kv`), SwiGLU MLP,
optionally tied embeddings. No biases anywhere.
"""
import json
import math
import os
import struct
from dataclasses import dataclass, asdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class LlamaConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    max_position_embeddings: int = 2048
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = True
    bos_token_id: int = None
    eos_token_id: object = None
    pad_token_id: int = None

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads

    def hf_json(self):
        """config.json as transformers writes it for LlamaForCausalLM."""
        d = asdict(self)
        d.update({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_act": "silu",
            "attention_bias": False,
            "attention_dropout": 0.0,
            "mlp_bias": False,
            "head_dim": self.head_dim,
            "initializer_range": 0.02,
            "pretraining_tp": 1,
            "rope_scaling": None,
            "torch_dtype": "bfloat16",
            "use_cache": True,
        })
        return dict(sorted(d.items()))


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def rope_cos_sin(head_dim, theta, positions):
    """cos, sin of shape [len(positions), head_dim] in HF's layout (frequencies repeated twice)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.n_heads, self.n_kv, self.hd = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, self.n_heads * self.hd, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, self.n_kv * self.hd, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, self.n_kv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.n_heads * self.hd, c.hidden_size, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.n_heads, self.hd).transpose(1, 2)  # [b, h, t, hd]
        k = self.k_proj(x).view(b, t, self.n_kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.n_kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.n_heads // self.n_kv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        # torch 1.13 (Debian 12) has no scaled_dot_product_attention: plain causal softmax.
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))
        causal = torch.ones(t, t, dtype=torch.bool).triu(1)
        y = torch.softmax(scores.masked_fill(causal, float("-inf")), dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, t, self.n_heads * self.hd))


class Mlp(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = Mlp(c)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.config = c
        self.model = LlamaModel(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        if c.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.apply(self._init)
        # Residual-branch outputs scaled down with depth (GPT-2), which trains small models faster.
        for name, p in self.named_parameters():
            if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * c.num_hidden_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, ids):
        """ids [b, t] -> logits [b, t, vocab] (f32); positions 0..t-1."""
        c = self.config
        cos, sin = rope_cos_sin(c.head_dim, c.rope_theta, torch.arange(ids.shape[1]))
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.model.norm(x)).float()

    def num_params(self):
        return sum(p.numel() for p in self.parameters())  # tied weights counted once


def load_checkpoint(model_dir):
    """A checkpoint written by train.py (config.json + bf16 model.safetensors), in f32, eval mode."""
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    fields = LlamaConfig.__dataclass_fields__
    c = LlamaConfig(**{k: v for k, v in cfg.items() if k in fields})
    m = LlamaForCausalLM(c)
    raw = open(os.path.join(model_dir, "model.safetensors"), "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    state = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "BF16", name
        b, e = info["data_offsets"]
        words = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=np.uint16).astype(np.uint32) << 16
        state[name] = torch.from_numpy(words.view(np.float32).copy()).view(info["shape"])
    missing, unexpected = m.load_state_dict(state, strict=False)
    assert not unexpected and all(k == "lm_head.weight" for k in missing), (missing, unexpected)
    m.eval()
    return m
