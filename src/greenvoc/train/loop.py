"""``train()``: the metered training loop.

Every step (batch draw, discriminator and generator updates) runs inside its own
:class:`~greenvoc.energy.meter.EnergyMeter` window; its joules, the cumulative kWh and gCO2eq
and the losses go to the database (one transaction per step) and to ``train_log.csv``.
Checkpoints every ``checkpoint_every`` steps and at the end; ``--resume`` continues from the
checkpoint (rows after it are dropped first, so no step is ever stored twice); the loop stops
before a step that would overrun the energy budget. Validation runs outside the step windows,
in its own window, and is plotted against the training energy spent so far.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from greenvoc.energy.carbon import resolve_carbon_settings
from greenvoc.energy.measurement import J_PER_KWH, energy_label
from greenvoc.energy.meter import EnergyMeter
from greenvoc.errors import GreenvocError, UsageError
from greenvoc.provenance import environment
from greenvoc.store import train_tables as tt
from greenvoc.train.checkpoint import (
    capture_rng,
    checkpoint_path,
    load_checkpoint,
    restore,
    save_checkpoint,
)
from greenvoc.train.data import SegmentSampler, load_split
from greenvoc.train.logs import STEP_COLUMNS, VALIDATION_COLUMNS, CsvLog
from greenvoc.train.projection import project
from greenvoc.train.recipes import generator_config, get_recipe, parse_overrides
from greenvoc.train.steps import Trainer
from greenvoc.train.validate import validate
from greenvoc.vocoders.registry import get_spec


@dataclass(frozen=True)
class TrainConfig:
    """What ``greenvoc train`` takes. batch/segment: ``None`` = the published values;
    steps: the target step (a resumed run continues up to it); validate_every: 0 = only at
    the end; config: ``--config`` text (``tiny``, ``field=value;…``)."""

    recipe: str
    data: str = "default"
    steps: int = 1000
    batch: int | None = None
    segment: int | None = None
    energy_budget_kwh: float | None = None
    out_dir: str = "greenvoc-results/train"
    resume: bool = False
    seed: int = 0
    config: str | None = None
    validate_every: int = 0
    val_clips: int = 1
    val_max_s: float = 3.0
    dnsmos: bool = True
    checkpoint_every: int = 500
    threads: int | None = None
    country: str | None = None
    pue: float | None = None
    device: str = "cpu"

    def identity(self) -> dict[str, Any]:
        """What must match for ``--resume`` to continue the same run."""
        return {"recipe": self.recipe, "data": self.data, "batch": self.batch,
                "segment": self.segment, "seed": self.seed, "config": self.config,
                "val_clips": self.val_clips}


@dataclass
class TrainSummary:
    run_id: int
    recipe: str
    status: str
    start_step: int
    end_step: int
    energy_j: float
    carbon_g: float
    j_per_step: float
    energy_label: str
    out_dir: str
    checkpoint: str
    message: str
    projection: list[dict] = field(default_factory=list)
    validations: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"energy_kwh": self.energy_j / J_PER_KWH}


def _check(cfg: TrainConfig) -> None:
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA GPU is visible here (torch.cuda.is_available() "
                         "is False); train on --device cpu")
    if cfg.steps < 1:
        raise UsageError(f"--steps must be ≥ 1, got {cfg.steps}")
    for name in ("batch", "segment", "checkpoint_every"):
        v = getattr(cfg, name)
        if v is not None and v < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be ≥ 1, got {v}")
    if cfg.energy_budget_kwh is not None and not cfg.energy_budget_kwh > 0:
        raise UsageError(f"--energy-budget-kwh must be > 0, got {cfg.energy_budget_kwh}")


def train(cfg: TrainConfig, store, console: Console | None = None,
          progress: bool = True) -> TrainSummary:
    """Train (or resume) ``cfg.recipe`` up to step ``cfg.steps``; see the module docstring."""
    _check(cfg)
    recipe = get_recipe(cfg.recipe)
    spec = get_spec(recipe.model)
    overrides = parse_overrides(cfg.config, recipe)
    batch = cfg.batch or recipe.published.batch or 16
    segment = cfg.segment or recipe.published.segment or 8192
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    carbon = resolve_carbon_settings(cfg.country, cfg.pue)
    split = load_split(cfg.data, spec.sample_rate, cfg.val_clips, cfg.seed)
    sampler = SegmentSampler(split.train, segment, spec.mel_config)
    torch.manual_seed(cfg.seed)
    rng = torch.Generator().manual_seed(cfg.seed)
    trainer = Trainer(recipe, generator_config(recipe, overrides), spec.mel_config,
                      overrides.get("disc_width", 1.0), math.ceil(len(split.train) / batch),
                      recipe.published.steps or cfg.steps, device=cfg.device)
    out = Path(cfg.out_dir)
    steps_log = CsvLog(out / "train_log.csv", STEP_COLUMNS)
    val_log = CsvLog(out / "validation.csv", VALIDATION_COLUMNS)
    identity = cfg.identity() | {"recipe": recipe.name}

    start, cum_j, cum_g = 0, 0.0, 0.0
    if cfg.resume:
        state = load_checkpoint(out)
        if state["identity"] != identity:
            raise UsageError(f"{checkpoint_path(out)} was written by another configuration "
                             f"({state['identity']}); resume with the same flags or use "
                             "another --out")
        run_id, start = state["run_id"], state["step"]
        if tt.get_run(store, run_id) is None:
            raise UsageError(f"run {run_id} of {checkpoint_path(out)} is not in "
                             f"{store.display_url}; pass the --db the run was started with")
        restore(out, state, trainer, rng)
        cum_j, cum_g = state["energy_j"], state["carbon_g"]
        lost = tt.truncate_after(store, run_id, start)
        run = tt.get_run(store, run_id)
        tt.update_run(store, run_id, status="running", target_steps=cfg.steps,
                      discarded_energy_j=(run.discarded_energy_j or 0.0) + lost)
        steps_log.truncate_after(start)
        val_log.truncate_after(start)
    elif checkpoint_path(out).is_file():
        raise UsageError(f"{out} already holds a training checkpoint; pass --resume to "
                         "continue it, or choose another --out")
    else:
        config = {**cfg.identity(), "recipe": recipe.name, "model": recipe.model,
                  "batch": batch, "segment": segment, "overrides": overrides,
                  "generator_config": asdict(generator_config(recipe, overrides)),
                  "parameters": trainer.parameter_count(), "split": split.record,
                  "published": asdict(recipe.published)}
        run_id = tt.create_run(store, recipe=recipe.name, model=recipe.model, config=config,
                               seed=cfg.seed, environment=environment(), status="running",
                               target_steps=cfg.steps, out_dir=str(out),
                               carbon={"g_per_kwh": carbon.intensity.g_per_kwh,
                                       "country": carbon.intensity.country,
                                       "pue": carbon.pue, "origin": carbon.origin})

    def save(step: int) -> None:
        # plain int/float: a numpy scalar from a counter would be refused by the weights-only
        # reader on --resume
        save_checkpoint(out, {"run_id": int(run_id), "step": int(step), "identity": identity,
                              "trainer": trainer.state_dict(), "rng": capture_rng(rng),
                              "energy_j": float(cum_j), "carbon_g": float(cum_g)})

    def run_validation(step: int) -> None:
        with meter.window("validation"):
            v = validate(trainer.synthesize, split.validation, spec.mel_config, cfg.val_max_s,
                         cfg.dnsmos)
        val_j = meter["validation"].energy_j
        tt.add_validation(store, run_id=run_id, step=step, cumulative_energy_j=cum_j,
                          mel_l1=v.mel_l1, dnsmos_ovrl=v.dnsmos_ovrl, n_clips=v.n_clips,
                          validation_energy_j=val_j, detail=v.per_clip)
        val_log.append({"step": step, "cumulative_energy_j": cum_j,
                        "cumulative_kwh": cum_j / J_PER_KWH, "mel_l1": v.mel_l1,
                        "dnsmos_ovrl": v.dnsmos_ovrl, "n_clips": v.n_clips,
                        "validation_energy_j": val_j})

    budget_j = cfg.energy_budget_kwh * J_PER_KWH if cfg.energy_budget_kwh else math.inf
    meter = EnergyMeter(mode="process")
    methods: set[str] = set()
    all_measured, session_j = True, []
    status, message, step = "running", "", start
    try:
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console or Console(stderr=True), disable=not progress) as bar:
            task = bar.add_task(f"train {recipe.name}", total=cfg.steps, completed=start)
            while step < cfg.steps:
                expected = session_j[-1] if session_j else 0.0
                if cum_j + expected > budget_j:
                    status = "budget_spent"
                    message = (f"energy budget of {cfg.energy_budget_kwh:g} kWh spent: "
                               f"{cum_j / J_PER_KWH:.3g} kWh after step {step} (the next step "
                               f"would take ~{expected:.3g} J); checkpoint saved; raise "
                               "--energy-budget-kwh and pass --resume to continue")
                    break
                with meter.window("step"):
                    wave, mel = sampler.batch(batch, rng)
                    losses = trainer.step(wave, mel, rng)
                m = meter["step"]
                step += 1
                trainer.end_step(step)
                step_g = carbon.carbon_g(m.energy_j)
                cum_j, cum_g = cum_j + m.energy_j, cum_g + step_g
                session_j.append(m.energy_j)
                methods.update(m.methods)
                all_measured &= m.measured
                method = "+".join(m.methods)
                tt.add_step(store, run_id=run_id, step=step, losses=losses,
                            energy_j=m.energy_j, cumulative_energy_j=cum_j,
                            measured=m.measured, energy_method=method, carbon_g=step_g,
                            cumulative_carbon_g=cum_g, duration_s=m.duration_s)
                steps_log.append({
                    "step": step, "energy_j": m.energy_j, "cumulative_energy_j": cum_j,
                    "cumulative_kwh": cum_j / J_PER_KWH, "carbon_g": step_g,
                    "cumulative_carbon_g": cum_g, "duration_s": m.duration_s,
                    "measured": m.measured, "energy_method": method,
                    "lr": trainer.opt_g.param_groups[0]["lr"],
                    **{f"loss_{k}": v for k, v in losses.items()}})
                if not all(math.isfinite(v) for v in losses.values()):
                    raise FloatingPointError(f"non-finite loss at step {step}: {losses}")
                if step % cfg.checkpoint_every == 0:
                    save(step)
                if cfg.validate_every and step % cfg.validate_every == 0 and step < cfg.steps:
                    run_validation(step)
                bar.update(task, completed=step)
            else:
                status = "finished"
                message = f"reached step {step}"
                if cfg.validate_every and session_j:
                    run_validation(step)
        save(step)
    except BaseException as e:
        failed = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
        tt.update_run(store, run_id, status=failed, steps_done=step, energy_j=cum_j,
                      carbon_g=cum_g, message=f"{type(e).__name__}: {e}")
        raise
    finally:
        meter.stop()

    rows = tt.step_rows(store, run_id)
    label = energy_label({r.energy_method for r in rows} or methods,
                          all(r.measured for r in rows) if rows else all_measured)
    try:
        projection = [p.to_dict() for p in project(
            recipe, [r.energy_j for r in rows], [r.duration_s for r in rows], batch, segment,
            carbon, label, overrides)]
    except GreenvocError as e:  # the training is stored; a broken data table must not undo it
        projection = []
        message = f"{message}; no projection: {e}".lstrip("; ")
    tt.update_run(store, run_id, status=status, steps_done=step, energy_j=cum_j,
                  carbon_g=cum_g, energy_label=label, projection=projection, message=message)
    return TrainSummary(
        run_id=run_id, recipe=recipe.name, status=status, start_step=start, end_step=step,
        energy_j=cum_j, carbon_g=cum_g,
        j_per_step=(sum(r.energy_j for r in rows) / len(rows)) if rows else 0.0,
        energy_label=label, out_dir=str(out), checkpoint=str(checkpoint_path(out)),
        message=message, projection=projection,
        validations=[{"step": v.step, "cumulative_energy_j": v.cumulative_energy_j,
                      "mel_l1": v.mel_l1, "dnsmos_ovrl": v.dnsmos_ovrl}
                     for v in tt.validation_rows(store, run_id)])
