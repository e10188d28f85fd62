"""Execute a plan: one model at a time, each utterance metered, scored and committed.

Resumable by construction: a run is keyed by its configuration, each row is committed in its
own transaction under a unique (run, model, variant, utterance) key, and rows already stored
are skipped. Killing the process loses at most the utterance in flight.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from greenvoc.audio.io import load_audio, save_audio
from greenvoc.bench.cost import PeakRss, bytes_on_disk, macs_per_audio_s
from greenvoc.bench.plan import Plan, PlanItem
from greenvoc.energy.meter import EnergyMeter
from greenvoc.errors import GreenvocError
from greenvoc.metrics.score import score_pair
from greenvoc.provenance import environment
from greenvoc.quantize import get_variant
from greenvoc.quantize.base import NotApplicable
from greenvoc.store import ResultStore
from greenvoc.store.results import add_result, done_keys, get_or_create_run, set_idle_power
from greenvoc.vocoders import Vocoder, load_vocoder

log = logging.getLogger(__name__)

#: On a GPU one synthesis takes milliseconds while NVML's energy counter updates about every
#: 100 ms: the metered window repeats the synthesis until it lasts at least this long.
GPU_MIN_WINDOW_S = 1.0


@dataclass
class BenchSummary:
    run_id: int
    resumed: bool
    rows_skipped: int
    rows_written: int
    rows_failed: int
    idle_power_w: float
    wall_s: float
    synthesis_s: float
    out_dir: str


def _measure_idle(meter: EnergyMeter, idle_s: float) -> tuple[float, str]:
    with meter.window("idle"):
        time.sleep(idle_s)
    m = meter["idle"]
    label = "measured" if m.measured else "estimate (" + ", ".join(m.methods) + ")"
    return m.mean_power_w, label


def _model_facts(voc: Vocoder) -> dict[str, Any]:
    return {"params": voc.params(), "bytes_on_disk": bytes_on_disk(voc),
            "macs_per_audio_s": macs_per_audio_s(voc)}


def _warm_up(voc: Vocoder, plan_item: PlanItem) -> None:
    wave = load_audio(plan_item.utterances[0].path, sample_rate=voc.sample_rate).samples
    voc.copy_synthesize(wave[: voc.sample_rate // 2])


class _Sweep:
    def __init__(self, plan: Plan, store: ResultStore, out_dir: Path, meter: EnergyMeter,
                 run_id: int, idle_power_w: float) -> None:
        self.plan, self.store, self.meter = plan, store, meter
        self.run_id, self.idle_power_w = run_id, idle_power_w
        self.out_dir = out_dir / f"run{run_id}"
        self.synthesis_s = 0.0
        self.written = self.failed = 0

    def fail(self, item: PlanItem, utt_id: str, family: str, error: str) -> None:
        log.warning("%s/%s/%s failed: %s", item.model, item.variant, utt_id, error)
        if add_result(self.store, self.run_id, model=item.model, variant=item.variant,
                      utterance=utt_id, family=family, has_weights=item.has_weights, error=error):
            self.failed += 1

    def utterance(self, voc: Vocoder, item: PlanItem, utt, facts: dict) -> None:
        cfg = self.plan.config
        wave = load_audio(utt.path, sample_rate=voc.sample_rate).samples
        if not voc.has_weights and cfg.cost_only_max_s:
            wave = wave[: int(cfg.cost_only_max_s * voc.sample_rate)]
        mel = None if voc.spec.uses_waveform else voc.mel(wave).to(voc.device)
        key = f"{item.model}/{item.variant}/{utt.id}"

        def synthesize() -> torch.Tensor:
            return voc.copy_synthesize(wave) if mel is None else voc.synthesize(mel)

        on_gpu = voc.device.type == "cuda"
        if on_gpu:  # the first call of a new input shape pays for kernel selection
            synthesize()
        with PeakRss() as peak, self.meter.window(key):
            t0, repeats = time.monotonic(), 0
            while repeats < cfg.repeat or (on_gpu and
                                           time.monotonic() - t0 < GPU_MIN_WINDOW_S):
                out = synthesize()
                repeats += 1
                if on_gpu:
                    torch.cuda.synchronize(voc.device)
        m = self.meter[key]
        audio = out.detach().float().cpu().numpy().reshape(-1)
        audio_s = len(audio) / voc.sample_rate
        compute_s, energy_j = m.duration_s / repeats, m.energy_j / repeats
        self.synthesis_s += m.duration_s
        net_j = energy_j - self.idle_power_w * compute_s
        path = self.out_dir / item.model / item.variant / f"{utt.id}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_audio(path, audio, voc.sample_rate)
        metrics, metric_errors = None, None
        if voc.has_weights and cfg.metrics:
            score = score_pair(path, utt.path, cfg.metrics, name=utt.id)
            metrics = score.metrics
            metric_errors = dict(score.errors) | ({"file": score.error} if score.error else {})
        if add_result(
            self.store, self.run_id, model=item.model, variant=item.variant, utterance=utt.id,
            family=voc.spec.family, has_weights=voc.has_weights, audio_s=audio_s,
            compute_s=compute_s, rtf=compute_s / audio_s, energy_j=energy_j,
            energy_j_per_audio_s=energy_j / audio_s, energy_net_j=net_j,
            energy_net_j_per_audio_s=net_j / audio_s, energy_measured=m.measured,
            energy_method="+".join(m.methods),
            components={k: c.to_dict() for k, c in m.components.items()},
            peak_rss_bytes=peak.peak_bytes, metrics=metrics, metric_errors=metric_errors,
            audio_path=str(path), **facts,
        ):
            self.written += 1

    def variant(self, voc: Vocoder, name: str) -> tuple[Vocoder, dict, dict]:
        """The model in variant ``name``, its size on disk, and what was done to it."""
        if name == "fp32":
            return voc, {}, {"variant": "fp32"}
        variant = get_variant(name)
        mels = None
        if variant.needs_calibration:
            by_id = {u.id: u for u in self.plan.corpus.utterances}
            mels = [voc.mel(load_audio(by_id[i].path, sample_rate=voc.sample_rate).samples)
                    for i in self.plan.config.calibration_ids]
        workdir = self.out_dir / ".variants" / f"{voc.name}-{name}"
        workdir.mkdir(parents=True, exist_ok=True)
        result = variant.apply(voc, mels, workdir)
        detail = dict(result.detail) | {
            "variant": name, "calibration_ids": list(self.plan.config.calibration_ids)
            if variant.needs_calibration else []}
        return result.vocoder, {"bytes_on_disk": result.bytes_on_disk}, detail

    def model(self, item: PlanItem, todo: list, progress: Progress, task) -> None:
        try:
            voc = load_vocoder(item.model, device=self.plan.config.device,
                               seed=self.plan.config.seed)
            facts = _model_facts(voc)  # params and MACs of the fp32 architecture
            voc, size, detail = self.variant(voc, item.variant)
            facts |= size | {"variant_detail": detail}
            if self.plan.config.warmup:
                _warm_up(voc, item)
        except NotApplicable as e:
            for utt in todo:
                self.fail(item, utt.id, voc.spec.family, f"not applicable: {e}")
                progress.advance(task)
            return
        except (GreenvocError, RuntimeError, OSError, ValueError) as e:
            family = "unknown"
            for utt in todo:
                self.fail(item, utt.id, family, f"model could not be built or run: {e}")
                progress.advance(task)
            return
        for utt in todo:
            progress.update(task, description=f"{item.model} {item.variant} {utt.id}")
            try:
                self.utterance(voc, item, utt, facts)
            except (GreenvocError, RuntimeError, MemoryError, OSError, ValueError) as e:
                self.fail(item, utt.id, voc.spec.family, f"{type(e).__name__}: {e}")
            progress.advance(task)
        del voc


def run_bench(plan: Plan, store: ResultStore, out_dir: str | Path = "greenvoc-results/audio",
              progress: bool = True, console: Console | None = None) -> BenchSummary:
    """Run (or resume) the sweep of ``plan``; every row lands in ``store``."""
    t0 = time.monotonic()
    cfg = plan.config
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    config = cfg.to_dict() | {"corpus_selection": plan.corpus.to_dict()}
    env = environment()
    run_id, resumed = get_or_create_run(store, config, cfg.seed, env)
    done = done_keys(store, run_id)
    meter = EnergyMeter(mode="process")
    idle_power_w, idle_label = _measure_idle(meter, cfg.idle_s)
    if not resumed:
        set_idle_power(store, run_id, idle_power_w, idle_label)
    sweep = _Sweep(plan, store, Path(out_dir), meter, run_id, idle_power_w)
    skipped = 0
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console or Console(stderr=True), disable=not progress) as bar:
        task = bar.add_task("bench", total=plan.n_rows)
        for item in plan.items:
            todo = [u for u in item.utterances if (item.model, item.variant, u.id) not in done]
            skipped += len(item.utterances) - len(todo)
            bar.advance(task, len(item.utterances) - len(todo))
            if todo:
                sweep.model(item, todo, bar, task)
    meter.stop()
    return BenchSummary(run_id, resumed, skipped, sweep.written, sweep.failed, idle_power_w,
                        time.monotonic() - t0, sweep.synthesis_s, str(sweep.out_dir))
