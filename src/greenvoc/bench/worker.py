"""The measuring worker: one per machine (CPU work) or per GPU, running shards of a sweep.

A shard is one model × variant and a list of its utterances. The worker loads the model once,
warms it up on a synthetic input of the model's shape, then meters, writes and scores each
utterance, committing one row per utterance. The local executor runs one worker in-process; the
Ray executor runs one per node or GPU as an actor. Either way one worker measures one thing at a
time, so two measurements never share a CPU package or a GPU.
"""

from __future__ import annotations

import gc
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from greenvoc.audio.io import load_audio, save_audio
from greenvoc.bench.cost import (
    PeakRss,
    bytes_on_disk,
    freeze_heap,
    macs_per_audio_s,
    release_memory,
    rss_bytes,
)
from greenvoc.bench.plan import BenchConfig, PlanItem
from greenvoc.energy.meter import EnergyMeter
from greenvoc.errors import GreenvocError, StoreError
from greenvoc.metrics.score import score_pair
from greenvoc.provenance import environment, hardware_class
from greenvoc.quantize import get_variant
from greenvoc.quantize.base import NotApplicable
from greenvoc.store import ResultStore
from greenvoc.store.results import add_result, add_run_node, done_keys, get_run_node
from greenvoc.vocoders import Vocoder, load_vocoder
from greenvoc.vocoders.weights import weights_hint

log = logging.getLogger(__name__)

#: On a GPU one synthesis takes milliseconds while NVML's energy counter updates about every
#: 100 ms: the metered window repeats the synthesis until it lasts at least this long.
GPU_MIN_WINDOW_S = 1.0

#: Errors of one utterance (or one model) that are stored with the row; anything else stops the
#: worker. A StoreError is never stored: it means rows cannot be written at all.
ROW_ERRORS = (GreenvocError, RuntimeError, MemoryError, OSError, ValueError)


@dataclass(frozen=True)
class NodeIdentity:
    """Where rows are measured. ``node`` keys the run's per-node idle power: the Ray node id
    (or the host name with the local executor), plus ``/gpu:<UUID>`` for a CUDA worker."""

    node: str
    hostname: str
    hardware: str
    node_id: str | None = None

    @staticmethod
    def local(device: str = "cpu", node_id: str | None = None,
              gpu: str | None = None) -> NodeIdentity:
        """This machine; ``gpu`` is the UUID of the CUDA device the worker runs on."""
        hostname = socket.gethostname()
        node = node_id or hostname
        gpu_name = None
        if device.startswith("cuda"):
            gpu_name = torch.cuda.get_device_name(torch.device(device))
            node += f"/gpu:{gpu or device}"
        return NodeIdentity(node, hostname, hardware_class(device, gpu_name), node_id)


@dataclass
class ShardReport:
    """What a shard did: rows written, failed and skipped (stored before), synthesis time."""

    node: str
    hostname: str
    hardware: str
    written: int = 0
    failed: int = 0
    skipped: int = 0
    synthesis_s: float = 0.0
    errors: list[str] = field(default_factory=list)


def synthetic_speech(sample_rate: int, duration_s: float = 0.5, seed: int = 0) -> np.ndarray:
    """A voiced-speech-like test signal: a 120→180 Hz glide with 30 harmonics falling 6 dB per
    octave, amplitude-modulated at 4 Hz (syllables), plus faint noise. Warm-up input with the
    shape and level of real speech that depends on no file of the corpus."""
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    f0 = 120.0 + 60.0 * t / max(duration_s, 1e-9)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    harmonics = [np.sin(k * phase) / k for k in range(1, 31) if k * 180.0 < sample_rate / 2]
    voiced = np.sum(harmonics, axis=0) * (0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t))
    noise = np.random.default_rng(seed).standard_normal(len(t)) * 0.01
    x = voiced + noise
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def model_facts(voc: Vocoder) -> dict[str, Any]:
    return {"params": voc.params(), "bytes_on_disk": bytes_on_disk(voc),
            "macs_per_audio_s": macs_per_audio_s(voc)}


class BenchWorker:
    """Runs shards of one run on this process's node (or GPU) and writes their rows.

    config: the run's configuration; calibration: (id, path) of the utterances whose mels
    calibrate int8 variants; store_url: where rows go; out_dir: where audio goes (run folder
    inside). The node's idle power is read from the run if this node measured it before (a
    resumed or restarted worker), else measured once and stored.
    """

    def __init__(self, config: BenchConfig, calibration: dict[str, str], store_url: str,
                 run_id: int, out_dir: str | Path, identity: NodeIdentity,
                 meter: EnergyMeter | None = None) -> None:
        self.config, self.calibration = config, calibration
        self.store = ResultStore(store_url)
        self.run_id = run_id
        self.out_dir = Path(out_dir) / f"run{run_id}"
        self.identity = identity
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        self.meter = meter or EnergyMeter(mode="process")
        self.idle_power_w, self.idle_method = self._idle_power()
        self._loaded: tuple[str, str, Vocoder, dict[str, Any]] | None = None

    def _idle_power(self) -> tuple[float, str]:
        stored = get_run_node(self.store, self.run_id, self.identity.node)
        if stored is not None:
            return stored.idle_power_w, stored.idle_method
        with self.meter.window("idle"):
            time.sleep(self.config.idle_s)
        m = self.meter["idle"]
        method = "measured" if m.measured else "estimate (" + ", ".join(m.methods) + ")"
        row = add_run_node(self.store, self.run_id, self.identity.node,
                           hostname=self.identity.hostname, hardware=self.identity.hardware,
                           idle_power_w=m.mean_power_w, idle_method=method,
                           environment=environment())
        return row.idle_power_w, row.idle_method

    def close(self) -> None:
        self._unload()
        self.meter.stop()

    # -- models --------------------------------------------------------------------------

    def _unload(self) -> None:
        self._loaded = None
        release_memory()

    def _variant(self, voc: Vocoder, name: str) -> tuple[Vocoder, dict, dict]:
        """The model in variant ``name``, its size on disk, and what was done to it."""
        if name == "fp32":
            return voc, {}, {"variant": "fp32"}
        variant = get_variant(name)
        mels = None
        if variant.needs_calibration:
            mels = [voc.mel(load_audio(self.calibration[i], sample_rate=voc.sample_rate).samples)
                    for i in self.config.calibration_ids]
        workdir = self.out_dir / ".variants" / f"{voc.name}-{name}"
        workdir.mkdir(parents=True, exist_ok=True)
        result = variant.apply(voc, mels, workdir)
        detail = dict(result.detail) | {
            "variant": name, "calibration_ids": list(self.config.calibration_ids)
            if variant.needs_calibration else []}
        return result.vocoder, {"bytes_on_disk": result.bytes_on_disk}, detail

    def _load(self, item: PlanItem) -> tuple[Vocoder, dict[str, Any]]:
        if self._loaded and self._loaded[:2] == (item.model, item.variant):
            return self._loaded[2], self._loaded[3]
        self._unload()
        baseline_rss = rss_bytes()
        voc = load_vocoder(item.model, device=self.config.device, seed=self.config.seed)
        if item.has_weights and not voc.has_weights:
            raise GreenvocError(
                f"{item.model}: the weights are missing on {self.identity.hostname} (node "
                f"{self.identity.node}; found on the machine that planned the sweep): "
                f"{weights_hint(voc.spec)} there, then run the same bench command again")
        facts = model_facts(voc)  # params and MACs of the fp32 architecture
        voc, size, detail = self._variant(voc, item.variant)
        facts |= size | {"variant_detail": detail}
        if self.config.warmup:
            voc.copy_synthesize(synthetic_speech(voc.sample_rate, seed=self.config.seed))
        # What the model (weights, variant artefacts, runtime caches) keeps resident, above the
        # process before it was loaded: with the window's growth, the row's peak memory.
        facts["resident_bytes"] = max(0, rss_bytes() - baseline_rss)
        freeze_heap()
        self._loaded = (item.model, item.variant, voc, facts)
        return voc, facts

    # -- rows ----------------------------------------------------------------------------

    def _row(self, **fields: Any) -> bool:
        return add_result(self.store, self.run_id, hostname=self.identity.hostname,
                          hardware=self.identity.hardware, node_id=self.identity.node_id,
                          **fields)

    def _fail(self, report: ShardReport, item: PlanItem, utt_id: str, family: str,
              error: str) -> None:
        error = f"{error} [on {self.identity.hostname}]"
        log.warning("%s/%s/%s failed: %s", item.model, item.variant, utt_id, error)
        report.errors.append(f"{item.model}/{item.variant}/{utt_id}: {error}")
        if self._row(model=item.model, variant=item.variant, utterance=utt_id, family=family,
                     has_weights=item.has_weights, error=error):
            report.failed += 1

    def run_shard(self, item: PlanItem, utterance_ids: list[str] | None = None,
                  on_row: Callable[[], None] | None = None) -> ShardReport:
        """Measure ``utterance_ids`` of ``item`` (all of them by default), skipping any that the
        run already holds without error (a retried or resumed shard repeats no row)."""
        ident = self.identity
        report = ShardReport(ident.node, ident.hostname, ident.hardware)
        wanted = set(utterance_ids) if utterance_ids is not None else None
        done = done_keys(self.store, self.run_id)
        todo = []
        for u in item.utterances:
            if wanted is not None and u.id not in wanted:
                continue
            if (item.model, item.variant, u.id) in done:
                report.skipped += 1
            else:
                todo.append(u)
        if not todo:
            return report
        try:
            voc, facts = self._load(item)
        except StoreError:
            raise
        except NotApplicable as e:
            for u in todo:
                self._fail(report, item, u.id, "unknown", f"not applicable: {e}")
                on_row and on_row()
            return report
        except ROW_ERRORS as e:
            self._unload()
            for u in todo:
                self._fail(report, item, u.id, "unknown",
                           f"model could not be built or run: {e}")
                on_row and on_row()
            return report
        for u in todo:
            try:
                self._utterance(report, voc, item, u, facts)
            except StoreError:
                raise
            except ROW_ERRORS as e:
                self._fail(report, item, u.id, voc.spec.family, f"{type(e).__name__}: {e}")
            on_row and on_row()
        return report

    def _synthesize_window(self, voc: Vocoder, wave: np.ndarray, key: str
                           ) -> tuple[torch.Tensor, Any, int, int]:
        """(audio, measurement, repeats, peak RSS above the pre-window baseline)."""
        mel = None if voc.spec.uses_waveform else voc.mel(wave).to(voc.device)

        def synthesize() -> torch.Tensor:
            return voc.copy_synthesize(wave) if mel is None else voc.synthesize_long(mel)

        if mel is not None and voc.chunk_count(mel.shape[-1]) > 1:
            voc.chunk_plan()  # a model's receptive field is measured once, outside the window
        on_gpu = voc.device.type == "cuda"
        if on_gpu:  # the first call of a new input shape pays for kernel selection
            synthesize()
        gc.collect()
        with PeakRss() as peak, self.meter.window(key):
            t0, repeats = time.monotonic(), 0
            while repeats < self.config.repeat or (on_gpu and
                                                   time.monotonic() - t0 < GPU_MIN_WINDOW_S):
                out = synthesize()
                repeats += 1
                if on_gpu:
                    torch.cuda.synchronize(voc.device)
        return out, self.meter[key], repeats, peak.growth_bytes

    def _utterance(self, report: ShardReport, voc: Vocoder, item: PlanItem, utt,
                   facts: dict) -> None:
        cfg = self.config
        wave = load_audio(utt.path, sample_rate=voc.sample_rate).samples
        if not voc.has_weights and cfg.cost_only_max_s:
            wave = wave[: int(cfg.cost_only_max_s * voc.sample_rate)]
        key = f"{item.model}/{item.variant}/{utt.id}"
        out, m, repeats, peak_growth = self._synthesize_window(voc, wave, key)
        audio = out.detach().float().cpu().numpy().reshape(-1)
        audio_s = len(audio) / voc.sample_rate
        compute_s, energy_j = m.duration_s / repeats, m.energy_j / repeats
        report.synthesis_s += m.duration_s
        net_j = energy_j - self.idle_power_w * compute_s
        path = self.out_dir / item.model / item.variant / f"{utt.id}.wav"
        save_audio(path, audio, voc.sample_rate)
        metrics, metric_errors = None, None
        if voc.has_weights and cfg.metrics:
            score = score_pair(path, utt.path, cfg.metrics, name=utt.id,
                               max_offset_samples=voc.max_offset_samples,
                               max_length_diff_s=voc.length_tolerance_s)
            metrics = score.metrics
            metric_errors = dict(score.errors) | ({"file": score.error} if score.error else {})
        if self._row(
            model=item.model, variant=item.variant, utterance=utt.id,
            family=voc.spec.family, has_weights=voc.has_weights, audio_s=audio_s,
            compute_s=compute_s, rtf=compute_s / audio_s, energy_j=energy_j,
            energy_j_per_audio_s=energy_j / audio_s, energy_net_j=net_j,
            energy_net_j_per_audio_s=net_j / audio_s, energy_measured=m.measured,
            energy_method="+".join(m.methods),
            components={k: c.to_dict() for k, c in m.components.items()},
            peak_rss_bytes=peak_growth + facts.get("resident_bytes", 0), metrics=metrics,
            metric_errors=metric_errors, audio_path=str(path),
            **{k: v for k, v in facts.items() if k != "resident_bytes"},
        ):
            report.written += 1
