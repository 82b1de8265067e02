"""Pre-train a small transformers Wav2Vec2 on a prepared corpus's audio (wav2vec 2.0's contrastive task with its
Gumbel quantizer and diversity loss, as transformers' ``Wav2Vec2ForPreTraining`` defines them), then write the
encoder with ``save_pretrained`` — the form a hub model has — so soups can fine-tune it
(``model.encoder.kind=hf``). Nothing can be downloaded on the machines soups is developed on: this is how the
backbone comparison of docs/results.md gets a pretrained model at all.

    python scripts/pretrain_wav2vec2.py --data data/grid-dense --langs en,fr,de --out runs/w2v-pretrained \\
        --minutes 30 --threads 1
    python scripts/pretrain_wav2vec2.py --random --out runs/w2v-random       # same architecture, untrained

The training loop follows transformers' ``run_wav2vec2_pretraining_no_trainer`` example: span masks
(``mask_time_prob`` 0.65, spans of 10 frames), 100 sampled negatives, the Gumbel temperature decayed from 2 to 0.5,
AdamW with linear warm-up and decay. Prints one JSON line per ``--log-every`` steps and a summary at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch


def small_config(**overrides):
    """d=144, 4 layers: the converged grid's width class; a 320-sample convolutional frontend (20 ms frames) at
    64 channels (the published 7 layers at 512 channels cost most of a CPU step)."""
    from transformers import Wav2Vec2Config

    base = dict(hidden_size=144, num_hidden_layers=4, num_attention_heads=4, intermediate_size=576,
                conv_dim=(64, 64, 64, 64), conv_stride=(5, 4, 4, 4), conv_kernel=(10, 8, 4, 4),
                num_conv_pos_embeddings=32, num_conv_pos_embedding_groups=4, feat_extract_norm="layer",
                do_stable_layer_norm=True, codevector_dim=64, proj_codevector_dim=64, num_codevectors_per_group=64,
                num_codevector_groups=2, num_negatives=50, mask_time_prob=0.65, mask_time_length=10,
                hidden_dropout=0.05, attention_dropout=0.05, activation_dropout=0.0, feat_proj_dropout=0.0,
                layerdrop=0.0, diversity_loss_weight=0.1)
    return Wav2Vec2Config(**{**base, **overrides})


def load_waves(data: Path, langs: list[str], limit: int) -> list[torch.Tensor]:
    from soups.data.features import WaveformInput
    from soups.data.manifests import load_cuts

    reader, waves = WaveformInput(), []
    for lang in langs:
        for i, cut in enumerate(load_cuts(data / f"cuts_{lang}_train.jsonl.gz")):
            if i >= limit:
                break
            waves.append(reader.load(cut)[:, 0])
    return waves


def batch_of(waves: list[torch.Tensor], index: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-mean unit-variance waveforms, zero-padded ``(B, S)``, and the sample mask."""
    chosen = [waves[i] for i in index]
    size = max(len(w) for w in chosen)
    x, mask = torch.zeros(len(chosen), size), torch.zeros(len(chosen), size, dtype=torch.long)
    for i, w in enumerate(chosen):
        x[i, : len(w)] = (w - w.mean()) / torch.sqrt(w.var() + 1e-7)
        mask[i, : len(w)] = 1
    return x, mask


def train(args) -> dict:
    from transformers import Wav2Vec2ForPreTraining
    from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices, _sample_negative_indices

    torch.manual_seed(args.seed)
    random.seed(args.seed)
    model = Wav2Vec2ForPreTraining(small_config())
    waves = load_waves(Path(args.data), args.langs.split(","), args.per_lang)
    order = sorted(range(len(waves)), key=lambda i: len(waves[i]))  # batches of similar lengths
    batches = [order[i: i + args.batch] for i in range(0, len(order), args.batch)]
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98), eps=1e-6)
    start, step, log = time.time(), 0, []
    model.train()
    while step < args.steps and time.time() - start < args.minutes * 60:
        x, mask = batch_of(waves, random.choice(batches))
        frames = model._get_feat_extract_output_lengths(mask.sum(-1))
        seq = int(model._get_feat_extract_output_lengths(x.shape[1]))
        frame_mask = (torch.arange(seq)[None] < frames[:, None]).long()
        masked = _compute_mask_indices((x.shape[0], seq), model.config.mask_time_prob,
                                       model.config.mask_time_length, attention_mask=frame_mask, min_masks=2)
        negatives = _sample_negative_indices((x.shape[0], seq), model.config.num_negatives, masked)
        out = model(x, attention_mask=mask, mask_time_indices=torch.tensor(masked, dtype=torch.bool),
                    sampled_negative_indices=torch.tensor(negatives, dtype=torch.long))
        lr = args.lr * min(1.0, (step + 1) / args.warmup) * max(0.05, 1 - step / args.steps)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        per_frame = out.loss / max(1, int(masked.sum()))  # transformers sums over the masked frames
        per_frame.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        model.set_gumbel_temperature(max(2.0 * 0.9995**step, 0.5))
        step += 1
        if step % args.log_every == 0:
            n = max(1, int(masked.sum()))
            row = {"step": step, "loss_per_frame": round(float(out.loss) / n, 4),
                   "contrastive_per_frame": round(float(out.contrastive_loss) / n, 4),
                   "diversity": round(float(out.diversity_loss), 4), "lr": lr,
                   "minutes": round((time.time() - start) / 60, 2)}
            log.append(row)
            print(json.dumps(row), flush=True)
    return {"steps": step, "minutes": round((time.time() - start) / 60, 2), "utterances": len(waves),
            "first": log[0] if log else None, "last": log[-1] if log else None, "model": model.wav2vec2}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/grid-dense")
    p.add_argument("--langs", default="en,fr,de")
    p.add_argument("--per-lang", type=int, default=2000, help="training utterances per language")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--minutes", type=float, default=30.0, help="wall-clock cap (the summary says where it stopped)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--random", action="store_true", help="write the untrained model (the from-scratch control)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.random:
        from transformers import Wav2Vec2Model

        torch.manual_seed(args.seed)
        model, summary = Wav2Vec2Model(small_config()), {"steps": 0}
    else:
        summary = train(args)
        model = summary.pop("model")
    model.save_pretrained(args.out)
    (Path(args.out) / "preprocessor_config.json").write_text(json.dumps({"do_normalize": True, "sampling_rate": 16000}))
    summary.update(out=args.out, parameters=sum(p.numel() for p in model.parameters()), args=vars(args))
    (Path(args.out) / "pretraining.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
