"""Quantization-aware fine-tuning by distillation: the student that ``int8-qat`` exports.

1. The fp32 generator is the teacher. The student is a copy, cross-layer equalized
   (:mod:`.equalize`), with every convolution fake-quantized (:mod:`.fakequant`; first and
   last Conv1d and every ConvTranspose1d int8 weights with float compute) and its activation
   ranges calibrated on training mels.
2. A joint greedy search (:mod:`.search`) keeps in float the few layers that hurt most.
3. Fine-tuning: the student learns weights, scales and zero points to match the teacher's
   waveform on augmented espeak-ng speech (:mod:`.qat_data`): multi-resolution STFT + log-mel
   L1 (:mod:`greenvoc.train.losses`). No labels: the teacher's output is the target.

Every step runs in its own :class:`~greenvoc.energy.meter.EnergyMeter` window and, given a
store, is written to the training tables (recipe ``int8-qat``) like ``greenvoc train``'s steps:
the one-off cost the thesis sets against every later inference. The student is saved with its
layer plan, the search, the data record and the energy (:func:`save_student`).
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from greenvoc.energy.carbon import resolve_carbon_settings
from greenvoc.energy.measurement import energy_label
from greenvoc.errors import DataFileError, UsageError
from greenvoc.quantize.base import torch_module
from greenvoc.quantize.equalize import equalize, equalize_streams
from greenvoc.quantize.fakequant import (
    LayerPlan,
    calibrate,
    default_plan,
    quant_convs,
    wrap,
)
from greenvoc.quantize.qat_data import Augmentation, DistillationSampler, espeak_material
from greenvoc.quantize.search import greedy_float_groups
from greenvoc.vocoders.base import Vocoder

STUDENT_FILE = "student.pt"
FORMAT = "greenvoc-int8-qat/1"


@dataclass(frozen=True)
class QatConfig:
    """steps: optimisation steps; batch × segment_frames: mel frames a step; lr_*: Adam rates
    of the weights, of the log-scales and of the zero points (codes); mel_weight: weight of the
    log-mel L1 next to the multi-resolution STFT loss; equalize: cross-layer equalization
    first; stream_strength: exponent of the residual-stream equalization (0: none);
    target_mel_l1 / max_float_groups / search_frames: the greedy search (0 groups: no
    search); clips: espeak-ng clips drawn; calibration_segments: segments that set the initial
    ranges."""

    steps: int = 300
    batch: int = 1
    segment_frames: int = 16
    lr_weights: float = 1e-6
    lr_scales: float = 1e-3
    lr_zero: float = 0.01
    mel_weight: float = 1.0
    equalize: bool = True
    stream_strength: float = 0.5
    target_mel_l1: float = 0.15
    max_float_groups: int = 4
    search_frames: int = 16
    clips: int = 64
    calibration_segments: int = 8
    seed: int = 0
    device: str = "cpu"
    augmentation: Augmentation = field(default_factory=Augmentation)

    def check(self) -> None:
        for name in ("steps", "batch", "segment_frames", "clips", "calibration_segments"):
            if getattr(self, name) < 1:
                raise UsageError(f"int8-qat: {name.replace('_', '-')} must be ≥ 1, got "
                                 f"{getattr(self, name)}")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA GPU is visible here; fine-tune on "
                             "--device cpu")


@dataclass
class QatResult:
    """student: the fine-tuned fake-quant generator (CPU); plan: each conv's mode; record:
    JSON-serializable account (config, data, search, losses, energy)."""

    student: nn.Module
    plan: list[LayerPlan]
    record: dict[str, Any]


def weights_digest(module: nn.Module) -> str:
    """sha256 of the fp32 state (names and bytes): a student is only used with its teacher."""
    h = hashlib.sha256()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _losses(student_audio, teacher_audio, mel_config, mel_weight) -> dict[str, torch.Tensor]:
    from greenvoc.train.losses import mel_l1, multi_resolution_stft

    stft = multi_resolution_stft(student_audio, teacher_audio)
    mel = mel_l1(student_audio, teacher_audio, mel_config)
    return {"stft": stft, "mel_l1": mel, "total": stft + mel_weight * mel}


def _optimizer(student: nn.Module, cfg: QatConfig) -> torch.optim.Optimizer:
    groups: dict[str, list[nn.Parameter]] = {"weights": [], "scales": [], "zero": []}
    for name, p in student.named_parameters():
        key = ("scales" if name.endswith("log_scale") else "zero" if name.endswith(".zero")
               else "weights")
        groups[key].append(p)
    return torch.optim.Adam([
        {"params": groups["weights"], "lr": cfg.lr_weights},
        {"params": groups["scales"], "lr": cfg.lr_scales},
        {"params": groups["zero"], "lr": cfg.lr_zero},
    ])


def prepare_student(teacher: nn.Module, sampler: DistillationSampler, cfg: QatConfig,
                    g: torch.Generator) -> tuple[nn.Module, dict[str, Any]]:
    """Equalize, wrap, calibrate and search: the student before fine-tuning, and what was
    done."""
    student = copy.deepcopy(teacher).eval()
    for p in student.parameters():  # a TorchVocoder's module comes frozen
        p.requires_grad_(True)
    pairs = equalize(student) if cfg.equalize else []
    calibration = list(sampler.batch(cfg.calibration_segments, g))
    streams = (equalize_streams(student, calibration, cfg.stream_strength)
               if cfg.stream_strength and _is_hifigan(student) else [])
    wrap(student, default_plan(student))
    calibrate(student, calibration)
    search_mels = [m[:, :cfg.search_frames] for m in sampler.batch(2, g)]
    search = greedy_float_groups(student, teacher, search_mels, sampler.mel_config,
                                 cfg.target_mel_l1, cfg.max_float_groups)
    return student, {
        "stream_equalization": [asdict(s) for s in streams],
        "equalization": {"pairs": len(pairs), "median_range_ratio_before": _median(
            [p.range_ratio_before for p in pairs]), "median_range_ratio_after": _median(
            [p.range_ratio_after for p in pairs])},
        "search": search.to_dict(),
    }


def _is_hifigan(module: nn.Module) -> bool:
    return all(hasattr(module, a) for a in ("ups", "mrfs", "conv_post"))


def _median(xs: list[float]) -> float | None:
    return sorted(xs)[len(xs) // 2] if xs else None


def plan_of(student: nn.Module) -> list[LayerPlan]:
    return [LayerPlan(n, type(m.conv).__name__, m.mode) for n, m in quant_convs(student).items()]


def finetune(voc: Vocoder, cfg: QatConfig, store=None, log=None) -> QatResult:
    """Fine-tune an int8 student of ``voc`` (see the module docstring). store: a
    :class:`~greenvoc.store.ResultStore` for the training tables (None: energy in the record
    only); log: called with (step, losses dict, joules) after each step."""
    from greenvoc.energy.meter import EnergyMeter

    cfg.check()
    if not voc.has_weights:
        raise UsageError(f"int8-qat distils {voc.name}'s fp32 output: with random weights "
                         "there is nothing to keep; load real weights (--weights)")
    teacher = torch_module(voc, "int8-qat").eval()
    hop = voc.mel_config.hop_length
    material = espeak_material(voc.sample_rate, cfg.clips, cfg.seed)
    sampler = DistillationSampler(material, cfg.segment_frames * hop, voc.mel_config,
                                  cfg.augmentation)
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    started = time.perf_counter()
    meter = EnergyMeter(mode="process")
    try:
        with meter.window("prepare"):  # equalization, calibration, search: part of the cost
            student, prepared = prepare_student(teacher, sampler, cfg, g)
        check = sampler.batch(4, torch.Generator().manual_seed(cfg.seed + 1))
        loss_before = _check_loss(student, teacher, check, voc, cfg)
        carbon = resolve_carbon_settings() if store else None
        run_id = (_open_run(store, voc, cfg, material.record, prepared, carbon) if store
                  else None)
        energy_j, history, methods, measured = _train(
            student, teacher, sampler, cfg, voc, meter, g, store, run_id, carbon, log)
    finally:
        meter.stop()
    prepare_j = meter["prepare"].energy_j
    methods |= set(meter["prepare"].methods)
    measured &= meter["prepare"].measured
    student.cpu().eval()
    label = energy_label(methods, measured)
    plan = plan_of(student)
    record = {
        "config": asdict(cfg), "data": material.record, **prepared,
        "plan": [asdict(p) for p in plan],
        "loss_first_steps": _mean(history[:10]), "loss_last_steps": _mean(history[-10:]),
        "check_loss_before": loss_before,
        "check_loss_after": _check_loss(student, teacher, check, voc, cfg),
        "check_batch": "4 augmented segments of the training material drawn with seed + 1 "
                       "(a fixed yardstick, not held-out speech)",
        "energy_j": prepare_j + energy_j, "steps_energy_j": energy_j,
        "prepare_energy_j": prepare_j, "energy_label": label, "steps": cfg.steps,
        "wall_s": time.perf_counter() - started, "train_run_id": run_id,
        "teacher_digest": weights_digest(teacher), "model": voc.name,
    }
    if run_id is not None:
        from greenvoc.store import train_tables as tt

        tt.update_run(store, run_id, status="finished", steps_done=cfg.steps,
                      energy_j=energy_j, carbon_g=carbon.carbon_g(energy_j), energy_label=label,
                      message=f"int8-qat student saved; preparation (equalization, "
                              f"calibration, search) took {prepare_j:.4g} J more")
    return QatResult(student, plan, record)


def _train(student: nn.Module, teacher: nn.Module, sampler: DistillationSampler,
           cfg: QatConfig, voc: Vocoder, meter, g: torch.Generator, store, run_id: int | None,
           carbon, log) -> tuple[float, list[float], set[str], bool]:
    """The metered distillation steps: (joules, losses, energy methods, all measured)."""
    device = torch.device(cfg.device)
    teacher_dev = copy.deepcopy(teacher).to(device) if device.type != "cpu" else teacher
    student.to(device).train()
    opt = _optimizer(student, cfg)
    warmup = max(1, cfg.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * (
        0.55 + 0.45 * math.cos(math.pi * min(s, cfg.steps) / cfg.steps)))
    energy_j, history, methods, measured, done = 0.0, [], set(), True, 0
    try:
        for step in range(1, cfg.steps + 1):
            with meter.window("step"):
                mel = sampler.batch(cfg.batch, g).to(device)
                with torch.no_grad():
                    target = teacher_dev(mel)
                losses = _losses(student(mel), target, voc.mel_config, cfg.mel_weight)
                opt.zero_grad(set_to_none=True)
                losses["total"].backward()
                opt.step()
                sched.step()
            m = meter["step"]
            values = {k: float(v.detach()) for k, v in losses.items()}
            if not all(math.isfinite(v) for v in values.values()):
                raise FloatingPointError(f"int8-qat: non-finite loss at step {step}: {values}")
            energy_j += m.energy_j
            methods.update(m.methods)
            measured &= m.measured
            history.append(values["total"])
            if run_id is not None:
                _add_step(store, run_id, step, values, m, energy_j, carbon)
            done = step
            if log:
                log(step, values, m.energy_j)
    except BaseException as e:
        if run_id is not None:
            from greenvoc.store import train_tables as tt

            status = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
            tt.update_run(store, run_id, status=status, steps_done=done, energy_j=energy_j,
                          carbon_g=carbon.carbon_g(energy_j),
                          message=f"{type(e).__name__}: {e}")
        raise
    return energy_j, history, methods, measured


def _check_loss(student: nn.Module, teacher: nn.Module, mel: torch.Tensor, voc: Vocoder,
                cfg: QatConfig) -> float:
    with torch.no_grad():
        return float(_losses(student(mel), teacher(mel), voc.mel_config,
                             cfg.mel_weight)["total"])


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def _open_run(store, voc: Vocoder, cfg: QatConfig, data: dict, prepared: dict,
              carbon) -> int:
    from greenvoc.provenance import environment
    from greenvoc.store import train_tables as tt

    return tt.create_run(store, recipe="int8-qat", model=voc.name,
                         config={"qat": asdict(cfg), "data": data, **prepared},
                         seed=cfg.seed, environment=environment(), status="running",
                         target_steps=cfg.steps, out_dir=None,
                         carbon={"g_per_kwh": carbon.intensity.g_per_kwh,
                                 "country": carbon.intensity.country, "pue": carbon.pue,
                                 "origin": carbon.origin})


def _add_step(store, run_id: int, step: int, losses: dict, m, cumulative_j: float,
              carbon) -> None:
    from greenvoc.store import train_tables as tt

    tt.add_step(store, run_id=run_id, step=step, losses=losses, energy_j=m.energy_j,
                cumulative_energy_j=cumulative_j, measured=m.measured,
                energy_method="+".join(m.methods), carbon_g=carbon.carbon_g(m.energy_j),
                cumulative_carbon_g=carbon.carbon_g(cumulative_j), duration_s=m.duration_s)


def save_student(result: QatResult, path: Path) -> Path:
    """Write the student (state, plan, record) for :func:`load_student`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in result.student.state_dict().items()}
    torch.save({"format": FORMAT, "plan": [asdict(p) for p in result.plan],
                "state": state, "record": result.record}, path)
    return path


def load_student(voc: Vocoder, path: Path) -> tuple[nn.Module, list[LayerPlan], dict]:
    """The student saved at ``path`` for ``voc`` (refused if it was distilled from other
    weights): (student module, plan, record)."""
    try:
        saved = torch.load(path, weights_only=True)
    except Exception as e:  # a foreign or truncated file: say which
        raise DataFileError(f"{path}: not a readable int8-qat student ({e}); run greenvoc "
                            f"quantize {voc.name} --variant int8-qat again") from e
    if not isinstance(saved, dict) or saved.get("format") != FORMAT:
        raise DataFileError(f"{path}: not an int8-qat student (format {FORMAT!r} expected)")
    module = torch_module(voc, "int8-qat")
    record = saved["record"]
    if record.get("teacher_digest") != weights_digest(module):
        raise DataFileError(f"{path}: distilled from other weights than {voc.name}'s; run "
                            f"greenvoc quantize {voc.name} --variant int8-qat again")
    plan = [LayerPlan(**p) for p in saved["plan"]]
    student = wrap(copy.deepcopy(module).eval(), plan)
    student.load_state_dict(saved["state"])
    return student.eval(), plan, record
