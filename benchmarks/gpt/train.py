"""
Train a small GPT on byte-level text for a fixed budget; report val_bpb.

One flat file, meant to be read and edited. Usage, after preparing data once
(python -m benchmarks.gpt.prepare):

    python benchmarks/gpt/train.py

It finds the data in $GPT_DATA_DIR, else in the directory prepare.py last
wrote. The hyperparameter block below is what a search edits; everything
under it is the method. Ends with greppable `key: value` lines.
"""

import json
import math
import os
import resource
import sys
import time
from pathlib import Path
from typing import cast

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------
# Hyperparameters (edit these directly; a search edits them as literals)
# ---------------------------------------------------------------------------

# Model
DEPTH = 4                 # number of transformer blocks
ASPECT_RATIO = 16         # model width = DEPTH * ASPECT_RATIO, rounded up to a multiple of HEAD_DIM
HEAD_DIM = 32             # width of one attention head
WINDOW_PATTERN = "L"      # per layer, cycled: L = full context, S = half context (last layer is L)
SEQ_LEN = 128             # context length in bytes

# Optimisation
TOTAL_BATCH_SIZE = 2048   # tokens per optimizer step
DEVICE_BATCH_SIZE = 16    # sequences per forward/backward; gradients accumulate up to TOTAL_BATCH_SIZE
EMBEDDING_LR = 0.05       # Adam, token embedding
UNEMBEDDING_LR = 0.008    # Adam, output head
MATRIX_LR = 0.04          # Muon, every 2-D weight inside the blocks
SCALAR_LR = 0.02          # Adam, per-layer residual scales
WEIGHT_DECAY = 0.0        # decoupled weight decay on the Muon matrices
ADAM_BETAS = (0.8, 0.95)  # Adam beta1, beta2
WARMUP_RATIO = 0.0        # fraction of training spent warming up the learning rates
WARMDOWN_RATIO = 0.4      # fraction of training spent decaying them
FINAL_LR_FRAC = 0.0       # learning rate at the end, as a fraction of the peak

# Run
SEED = 42
TIME_BUDGET = 30.0        # seconds of training (evaluation, start-up and compiling not counted)
MAX_STEPS = 0             # > 0: fixed-steps mode, deterministic; TIME_BUDGET is then ignored
EVAL_TOKENS = 65536       # validation tokens scored at the end
THREADS = 1               # CPU threads for torch
DEVICE = "auto"           # "auto", "cpu" or "cuda"
COMPILE = False           # torch.compile the model, before the timer starts
SOFTCAP = 0.0             # > 0: soft-cap the logits at this value with tanh

# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------

t_start = time.time()
torch.manual_seed(SEED)
torch.set_num_threads(THREADS)
device = torch.device("cuda" if DEVICE == "auto" and torch.cuda.is_available() else
                      ("cpu" if DEVICE == "auto" else DEVICE))
use_bf16 = device.type == "cuda"
if device.type == "cuda":
    torch.cuda.manual_seed(SEED)
    torch.backends.cuda.matmul.allow_tf32 = True
VOCAB_SIZE = 256          # byte-level tokens: bits per token are bits per byte

data_dir = os.environ.get("GPT_DATA_DIR")
if not data_dir:
    pointer = Path(os.environ.get("GPT_CACHE_DIR") or Path.home() / ".cache/bilevel-autoresearch/gpt") / "last-prepared"
    data_dir = pointer.read_text().strip() if pointer.exists() else ""
if not data_dir or not (Path(data_dir) / "meta.json").exists():
    print("error: no prepared data; run `python -m benchmarks.gpt.prepare` or set GPT_DATA_DIR", file=sys.stderr)
    sys.exit(2)
meta = json.loads((Path(data_dir) / "meta.json").read_text())
train_data = np.memmap(Path(data_dir) / "train.bin", dtype=np.uint8, mode="r")
val_data = np.memmap(Path(data_dir) / "val.bin", dtype=np.uint8, mode="r")
assert len(train_data) > SEQ_LEN + 1 and len(val_data) > SEQ_LEN + 1, "data is shorter than one sequence"

micro_batch = min(DEVICE_BATCH_SIZE, TOTAL_BATCH_SIZE // SEQ_LEN)   # never more than one step's worth
assert micro_batch >= 1 and TOTAL_BATCH_SIZE % (micro_batch * SEQ_LEN) == 0, \
    f"TOTAL_BATCH_SIZE ({TOTAL_BATCH_SIZE}) must be a multiple of min(DEVICE_BATCH_SIZE, TOTAL_BATCH_SIZE // SEQ_LEN) * SEQ_LEN"
grad_accum_steps = TOTAL_BATCH_SIZE // (micro_batch * SEQ_LEN)
batch_generator = torch.Generator().manual_seed(SEED)


def get_batch():
    """Random windows of the training bytes (same SEED, same windows)."""
    starts = torch.randint(0, len(train_data) - SEQ_LEN - 1, (micro_batch,), generator=batch_generator)
    rows = np.stack([train_data[s:s + SEQ_LEN + 1] for s in starts.tolist()]).astype(np.int64)
    rows = torch.from_numpy(rows).to(device)
    return rows[:, :-1], rows[:, 1:]


# ---------------------------------------------------------------------------
# Model: rotary attention, RMSNorm, ReLU^2 MLP, untied head
# ---------------------------------------------------------------------------

def norm(x):
    return F.rms_norm(x, (x.size(-1),))


def rotary_tables(seq_len, head_dim, base=10000.0):
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)
    return angles.cos()[None, None], angles.sin()[None, None]   # (1, 1, T, head_dim/2)


def rotate(x, cos, sin):
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos + x2 * sin, x2 * cos - x1 * sin], dim=-1)


class Attention(nn.Module):
    def __init__(self, width, n_head, window):
        super().__init__()
        self.n_head, self.head_dim, self.window = n_head, width // n_head, window
        self.qkv = nn.Linear(width, 3 * width, bias=False)
        self.proj = nn.Linear(width, width, bias=False)

    def forward(self, x, cos, sin, masks):
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k = norm(rotate(q, cos, sin)), norm(rotate(k, cos, sin))   # QK-norm keeps logits bounded
        if self.window >= T:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=masks[self.window][:T, :T])
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.up = nn.Linear(width, 4 * width, bias=False)
        self.down = nn.Linear(4 * width, width, bias=False)

    def forward(self, x):
        h = F.relu(self.up(x))
        return self.down(h * h)   # ReLU^2; a product has a cheaper backward than pow


class Block(nn.Module):
    def __init__(self, width, n_head, window):
        super().__init__()
        self.attn = Attention(width, n_head, window)
        self.mlp = MLP(width)

    def forward(self, x, cos, sin, masks):
        x = x + self.attn(norm(x), cos, sin, masks)
        return x + self.mlp(norm(x))


class GPT(nn.Module):
    def __init__(self, depth, width, n_head, windows):
        super().__init__()
        self.embed = nn.Embedding(VOCAB_SIZE, width)
        self.blocks = nn.ModuleList([Block(width, n_head, w) for w in windows])
        self.head = nn.Linear(width, VOCAB_SIZE, bias=False)
        self.resid_scales = nn.Parameter(torch.ones(depth))
        self.x0_scales = nn.Parameter(torch.zeros(depth))   # how much of the embedding each block sees again
        cos, sin = rotary_tables(SEQ_LEN, width // n_head)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        positions = torch.arange(SEQ_LEN)
        distance = positions[:, None] - positions[None, :]
        self.masks = {w: ((distance >= 0) & (distance < w)).to(device) for w in set(windows)}
        self._init_weights(width)

    @torch.no_grad()
    def _init_weights(self, width):
        nn.init.normal_(self.embed.weight, std=1.0)
        nn.init.normal_(self.head.weight, std=0.001)
        bound = 3 ** 0.5 * width ** -0.5
        for block in self.blocks:
            nn.init.uniform_(block.attn.qkv.weight, -bound, bound)
            nn.init.uniform_(block.mlp.up.weight, -bound, bound)
            nn.init.zeros_(block.attn.proj.weight)     # each block starts as the identity
            nn.init.zeros_(block.mlp.down.weight)

    def forward(self, idx, targets):
        T = idx.size(1)
        cos, sin = self.cos[..., :T, :], self.sin[..., :T, :]
        x = x0 = norm(self.embed(idx))
        for i, block in enumerate(self.blocks):
            x = block(self.resid_scales[i] * x + self.x0_scales[i] * x0, cos, sin, self.masks)
        logits = self.head(norm(x)).float()
        if SOFTCAP > 0:   # tanh over every logit costs ~10% of a small model's step on a CPU
            logits = SOFTCAP * torch.tanh(logits / SOFTCAP)
        return F.cross_entropy(logits.view(-1, VOCAB_SIZE), targets.reshape(-1))


width = -(-DEPTH * ASPECT_RATIO // HEAD_DIM) * HEAD_DIM   # rounded up to whole heads, so every pair works
assert set(WINDOW_PATTERN) <= set("SL") and WINDOW_PATTERN, "WINDOW_PATTERN uses only S and L"
n_head = width // HEAD_DIM
windows = [SEQ_LEN if WINDOW_PATTERN[i % len(WINDOW_PATTERN)] == "L" else SEQ_LEN // 2 for i in range(DEPTH)]
windows[-1] = SEQ_LEN
model = GPT(DEPTH, width, n_head, windows).to(device)
num_params = sum(p.numel() for p in model.parameters())
matrix_params = [p for p in model.blocks.parameters() if p.ndim == 2]
# 6 FLOPs per weight per token (forward + backward) for every matmul, plus attention scores
attention_flops = sum(12 * width * min(w, SEQ_LEN) for w in windows) // 2
flops_per_token = 6 * (sum(p.numel() for p in matrix_params) + model.head.weight.numel()) + attention_flops

# ---------------------------------------------------------------------------
# Optimizer: Muon for block matrices, Adam for embeddings, head and scalars
# ---------------------------------------------------------------------------

def orthogonalize(G, steps=5):
    """Approximate U V^T of each matrix's SVD in a (n, rows, cols) stack with a
    quintic Newton-Schulz iteration."""
    a, b, c = 3.4445, -4.7750, 2.0315
    X = G / (G.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    tall = X.size(-2) > X.size(-1)
    if tall:
        X = X.mT
    for _ in range(steps):
        A = X @ X.mT
        X = torch.baddbmm(X, torch.baddbmm(A, A, A, beta=b, alpha=c), X, beta=a)
    return X.mT if tall else X


class Muon(torch.optim.Optimizer):
    """Matrices of one shape are orthogonalised together as one batch: at small
    width the per-operator cost, not the arithmetic, is what Newton-Schulz costs."""

    def __init__(self, params, lr, momentum=0.95, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            by_shape = {}
            for p in group["params"]:
                by_shape.setdefault(p.shape, []).append(p)
            for shape, params in by_shape.items():
                grads = torch.stack([p.grad for p in params])
                state = self.state[params[0]]
                if "momentum" not in state:
                    state["momentum"] = torch.zeros_like(grads)
                buf = state["momentum"]
                buf.mul_(group["momentum"]).add_(grads)
                update = orthogonalize(grads.add_(buf, alpha=group["momentum"]))   # Nesterov
                scale = max(1.0, shape[0] / shape[1]) ** 0.5
                for p, u in zip(params, update, strict=True):
                    p.mul_(1 - group["lr"] * group["weight_decay"])
                    p.add_(u, alpha=-group["lr"] * scale)


muon = Muon(matrix_params, lr=MATRIX_LR, weight_decay=WEIGHT_DECAY)
adam = torch.optim.AdamW([
    dict(params=[model.embed.weight], lr=EMBEDDING_LR),
    dict(params=[model.head.weight], lr=UNEMBEDDING_LR),
    dict(params=[model.resid_scales, model.x0_scales], lr=SCALAR_LR),
], betas=ADAM_BETAS, eps=1e-10, weight_decay=0.0)
optimizers = [muon, adam]
for opt in optimizers:
    for group in opt.param_groups:
        group["initial_lr"] = group["lr"]


def lr_multiplier(progress):
    if progress < WARMUP_RATIO:
        return progress / WARMUP_RATIO
    if progress < 1.0 - WARMDOWN_RATIO:
        return 1.0
    left = (1.0 - progress) / WARMDOWN_RATIO
    return left + (1.0 - left) * FINAL_LR_FRAC


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------

autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16)
compile_seconds = 0.0
if COMPILE:
    # Compile before the timer, so the budget measures training and not compilation: one forward and
    # backward on zeros laid out as get_batch's rows (views of one [batch, SEQ_LEN + 1] block: another
    # stride is another graph, compiled again inside the timer). It draws no batch and takes no
    # optimizer step, so the run trains exactly as it would eagerly; its gradients are dropped.
    t_compile = time.time()
    model = cast(GPT, torch.compile(model))   # the wrapper forwards calls and attributes to the GPT
    zeros = torch.zeros(micro_batch, SEQ_LEN + 1, dtype=torch.long, device=device)
    with autocast:
        warm_up = model(zeros[:, :-1], zeros[:, 1:])
    warm_up.backward()
    model.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    compile_seconds = time.time() - t_compile
    print(f"compiled in {compile_seconds:.1f} s (before the timer)")
fixed_steps = MAX_STEPS > 0
print(f"device: {device.type} threads: {THREADS} params: {num_params:,} width: {width} heads: {n_head}")
print(f"mode: {'fixed steps ' + str(MAX_STEPS) if fixed_steps else 'time budget ' + str(TIME_BUDGET) + ' s'}")
planned_tokens = MAX_STEPS * TOTAL_BATCH_SIZE if fixed_steps else None
if planned_tokens and planned_tokens > len(train_data):
    print(f"warning: {planned_tokens:,} training tokens planned but only {len(train_data):,} prepared; "
          "the data repeats")

training_time = 0.0
step = 0
train_loss = float("nan")
while True:
    progress = step / MAX_STEPS if fixed_steps else training_time / TIME_BUDGET
    if progress >= 1.0:
        break
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.time()
    multiplier = lr_multiplier(progress)
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group["initial_lr"] * multiplier
    loss_sum = 0.0
    for _ in range(grad_accum_steps):
        x, y = get_batch()
        with autocast:
            loss = model(x, y)
        (loss / grad_accum_steps).backward()
        loss_sum += loss.detach()
    for opt in optimizers:
        opt.step()
    model.zero_grad(set_to_none=True)
    train_loss = float(loss_sum) / grad_accum_steps
    if device.type == "cuda":
        torch.cuda.synchronize()
    training_time += time.time() - t0
    step += 1
    if not math.isfinite(train_loss) or train_loss > 3 * math.log(VOCAB_SIZE):
        print(f"step {step} loss {train_loss}")
        print("status: diverged")
        sys.exit(3)
    if step % 20 == 0 or step == 1:
        print(f"step {step:05d} | loss {train_loss:.4f} | lr x{multiplier:.2f} | "
              f"{step * TOTAL_BATCH_SIZE / training_time:,.0f} tok/s | {training_time:.1f} s", flush=True)

total_tokens = step * TOTAL_BATCH_SIZE
if not fixed_steps and total_tokens > len(train_data):
    print(f"warning: trained on {total_tokens:,} tokens but only {len(train_data):,} are prepared; "
          f"the data was seen {total_tokens / len(train_data):.1f} times; prepare more with --data")

# ---------------------------------------------------------------------------
# Evaluation: bits per byte on a fixed slice of the validation documents
# ---------------------------------------------------------------------------

model.eval()
n_seqs = max(1, min(EVAL_TOKENS // SEQ_LEN, (len(val_data) - 1) // SEQ_LEN))
stride = (len(val_data) - 1 - SEQ_LEN) // max(1, n_seqs - 1) if n_seqs > 1 else 0
starts = [i * stride for i in range(n_seqs)]   # evenly spread, so every run scores the same bytes
nll_sum, count = 0.0, 0
with torch.no_grad():
    for i in range(0, n_seqs, micro_batch):
        window = np.stack([val_data[s:s + SEQ_LEN + 1] for s in starts[i:i + micro_batch]]).astype(np.int64)
        rows = torch.from_numpy(window).to(device)
        with autocast:
            loss = model(rows[:, :-1], rows[:, 1:])
        nll_sum += float(loss) * rows[:, 1:].numel()
        count += rows[:, 1:].numel()
val_bpb = nll_sum / count / math.log(2)
if not math.isfinite(val_bpb):
    print("status: diverged")
    sys.exit(3)

if device.type == "cuda":
    peak_memory_mb = torch.cuda.max_memory_allocated() / 2**20
else:
    peak_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("---")
print(f"val_bpb:           {val_bpb:.6f}")
print(f"training_seconds:  {training_time:.2f}")
print(f"compile_seconds:   {compile_seconds:.2f}")
print(f"total_seconds:     {time.time() - t_start:.2f}")
print(f"num_steps:         {step}")
print(f"total_tokens:      {total_tokens}")
print(f"tokens_per_second: {total_tokens / max(training_time, 1e-9):.1f}")
print(f"peak_memory_mb:    {peak_memory_mb:.1f}")
print(f"num_params:        {num_params}")
print(f"flops_per_token:   {flops_per_token}")
print(f"final_train_loss:  {train_loss:.6f}")
