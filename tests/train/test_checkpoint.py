"""Training checkpoints are read without running code: real trainer states round-trip through
the weights-only reader, and crafted or foreign files are refused with what is wrong."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from greenvoc.cli import main
from greenvoc.train.checkpoint import (
    FORMAT,
    TrainCheckpointError,
    capture_rng,
    checkpoint_path,
    load_checkpoint,
    restore,
    save_checkpoint,
)
from greenvoc.train.data import Clip, SegmentSampler
from greenvoc.train.recipes import RECIPES, generator_config, get_recipe, parse_overrides
from greenvoc.train.steps import Trainer
from greenvoc.vocoders.registry import get_spec


class _CreatesFile:
    """Unpickling this creates ``marker``: what a crafted checkpoint's payload would do."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _tiny_trainer(name: str) -> tuple[Trainer, SegmentSampler]:
    recipe = get_recipe(name)
    spec = get_spec(recipe.model)
    overrides = parse_overrides("tiny", recipe)
    trainer = Trainer(recipe, generator_config(recipe, overrides), spec.mel_config,
                      overrides.get("disc_width", 1.0), steps_per_epoch=1, horizon=10)
    noise = np.random.default_rng(0).standard_normal(spec.mel_config.hop_length * 64)
    clip = Clip("noise", (0.1 * noise).astype(np.float32))
    segment = max(spec.mel_config.hop_length * 16, spec.mel_config.n_fft)
    return trainer, SegmentSampler((clip,), segment, spec.mel_config)


def _state(trainer: Trainer, rng: torch.Generator, step: int = 1) -> dict:
    return {"run_id": 1, "step": step, "identity": {"recipe": trainer.recipe.name},
            "trainer": trainer.state_dict(), "rng": capture_rng(rng), "energy_j": 2.5,
            "carbon_g": 0.001}


def _flat(x, prefix=""):
    """Nested dicts/lists of a state → {path: leaf}, for comparing two states."""
    if isinstance(x, dict):
        return {k: v for key, val in x.items() for k, v in _flat(val, f"{prefix}/{key}").items()}
    if isinstance(x, list | tuple):
        return {k: v for i, val in enumerate(x) for k, v in _flat(val, f"{prefix}/{i}").items()}
    return {prefix: x}


@pytest.mark.parametrize("name", list(RECIPES))
def test_every_recipe_state_round_trips_through_the_weights_only_reader(tmp_path, name):
    torch.manual_seed(0)
    trainer, sampler = _tiny_trainer(name)
    rng = torch.Generator().manual_seed(0)
    wave, mel = sampler.batch(1, rng)
    trainer.step(wave, mel, rng)  # the optimisers now hold per-parameter state
    trainer.end_step(1)           # and the schedulers have moved
    save_checkpoint(tmp_path, _state(trainer, rng))

    state = load_checkpoint(tmp_path)
    fresh, _ = _tiny_trainer(name)
    fresh_rng = torch.Generator().manual_seed(123)
    restore(tmp_path, state, fresh, fresh_rng)

    before, after = _flat(trainer.state_dict()), _flat(fresh.state_dict())
    assert before.keys() == after.keys()
    for key, value in before.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(value, after[key]), key
        else:
            assert value == after[key], key
    assert torch.equal(fresh_rng.get_state(), rng.get_state())
    assert fresh.opt_g.param_groups[0]["lr"] == trainer.opt_g.param_groups[0]["lr"]


def _crafted(folder, marker) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "run_id": 1, "payload": _CreatesFile(str(marker))},
               checkpoint_path(folder))


def test_the_payload_is_live(tmp_path):
    # the same payload, unpickled by plain pickle, does create its file: the tests below that
    # find no file therefore show that greenvoc ran nothing
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_CreatesFile(str(marker)))).close()
    assert marker.exists()


def test_crafted_checkpoint_is_refused_before_any_code_runs(tmp_path):
    marker = tmp_path / "code-ran"
    _crafted(tmp_path / "run", marker)
    with pytest.raises(TrainCheckpointError) as err:
        load_checkpoint(tmp_path / "run")
    assert not marker.exists()
    message = str(err.value)
    assert str(checkpoint_path(tmp_path / "run")) in message
    assert "io.open" in message and "refused" in message and "nothing in it was run" in message
    assert "weights_only=False" not in message  # torch's advice would run the payload

    raw = tmp_path / "raw"  # a bare pickle stream, not torch's zip format
    raw.mkdir()
    checkpoint_path(raw).write_bytes(pickle.dumps({"format": FORMAT,
                                                   "payload": _CreatesFile(str(marker))}))
    with pytest.raises(TrainCheckpointError, match="not a torch checkpoint written by"):
        load_checkpoint(raw)
    assert not marker.exists()


def test_resume_from_a_crafted_checkpoint_exits_1_with_the_reason(tmp_path, two_clips, capsys):
    marker = tmp_path / "code-ran"
    _crafted(tmp_path / "run", marker)
    rc = main(["train", "hifigan-v3", "--data", two_clips, "--steps", "2", "--resume",
               "--config", "tiny", "--batch", "1", "--segment", "2048",
               "--out", str(tmp_path / "run"), "--db", f"sqlite:///{tmp_path / 'db.sqlite'}"])
    err = capsys.readouterr().err
    assert rc == 1 and not marker.exists()
    assert "checkpoint.pt" in err and "io.open" in err and "Traceback" not in err


def test_foreign_checkpoints_name_what_is_missing_and_unexpected(tmp_path):
    # an official HiFi-GAN generator file: {"generator": state_dict}
    official = tmp_path / "official"
    official.mkdir()
    torch.save({"generator": {"conv_pre.weight": torch.zeros(2, 2)}}, checkpoint_path(official))
    with pytest.raises(TrainCheckpointError) as err:
        load_checkpoint(official)
    message = str(err.value)
    assert str(checkpoint_path(official)) in message
    assert "missing 'format', 'run_id', 'step', 'identity'" in message
    assert "unexpected 'generator'" in message and "another --out" in message

    # the right format tag but no identity (the file that raised KeyError: 'identity')
    partial = tmp_path / "partial"
    save_checkpoint(partial, {"run_id": 1, "step": 3, "trainer": {}, "rng": {},
                              "energy_j": 1.0, "carbon_g": 0.0})
    with pytest.raises(TrainCheckpointError, match="missing 'identity'"):
        load_checkpoint(partial)

    wrong = tmp_path / "wrong"
    save_checkpoint(wrong, {"run_id": "1", "step": True, "identity": {}, "trainer": {},
                            "rng": {"torch": torch.zeros(3)}, "energy_j": 1.0,
                            "carbon_g": 0.0})
    with pytest.raises(TrainCheckpointError) as err:
        load_checkpoint(wrong)
    assert "'run_id' is a str" in str(err.value) and "'step' is a bool" in str(err.value)
    assert "not uint8 tensors ['torch', 'sampler']" in str(err.value)

    checkpoint_path(tmp_path).write_bytes(b"<html>404</html>")
    with pytest.raises(TrainCheckpointError, match="not a torch checkpoint"):
        load_checkpoint(tmp_path)


def test_truncated_checkpoint_says_so(tmp_path):
    trainer, _ = _tiny_trainer("diffwave")
    path = save_checkpoint(tmp_path, _state(trainer, torch.Generator()))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TrainCheckpointError, match="truncated or damaged"):
        load_checkpoint(tmp_path)


def test_state_of_another_model_does_not_fit(tmp_path):
    diffwave, _ = _tiny_trainer("diffwave")
    rng = torch.Generator()
    save_checkpoint(tmp_path, _state(diffwave, rng))
    hifigan, _ = _tiny_trainer("hifigan-v3")
    with pytest.raises(TrainCheckpointError) as err:
        restore(tmp_path, load_checkpoint(tmp_path), hifigan, rng)
    assert "does not fit this run's models" in str(err.value)
    assert "Missing key(s)" in str(err.value)  # torch's list of the entries that differ

    state = load_checkpoint(tmp_path) | {"trainer": {}}
    with pytest.raises(TrainCheckpointError, match="'trainer' state is missing 'generator'"):
        restore(tmp_path, state, diffwave, rng)
