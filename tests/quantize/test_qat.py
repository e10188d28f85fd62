"""int8-qat on a tiny HiFi-GAN (resblock 1, 8 channels): fake quantization with learned scales,
cross-layer equalization, the joint search, the QDQ export against onnxruntime, the distillation
loop with its metered steps in the training tables, and the variant's refusals."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from greenvoc.errors import DataFileError, UsageError
from greenvoc.quantize import get_variant
from greenvoc.quantize.base import param_bytes
from greenvoc.quantize.equalize import equalizable_pairs, equalize, equalize_streams
from greenvoc.quantize.fakequant import (
    ActQuant,
    WeightQuant,
    calibrate,
    default_plan,
    quant_convs,
    wrap,
)
from greenvoc.quantize.qat import (
    STUDENT_FILE,
    QatConfig,
    QatResult,
    finetune,
    load_student,
    plan_of,
    save_student,
    weights_digest,
)
from greenvoc.quantize.qdq_export import match_mel_l1, match_snr_db, write_qdq
from greenvoc.quantize.report import snr_db
from greenvoc.quantize.search import greedy_float_groups
from greenvoc.vocoders.families.hifigan import HifiganConfig, HifiganGenerator
from greenvoc.vocoders.registry import get_spec
from greenvoc.vocoders.torch_vocoder import TorchVocoder

TINY1 = HifiganConfig(upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                      upsample_initial_channel=16, resblock="1", resblock_kernel_sizes=(3,),
                      resblock_dilation_sizes=((1, 3),))


def _mel(frames: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 80, frames, generator=g) * 1.5 - 5.0


@pytest.fixture(scope="module")
def tiny() -> TorchVocoder:
    torch.manual_seed(0)
    # has_weights=True so that the loop runs: these are random weights, the test checks the
    # mechanics (distillation from any fp32 teacher), not speech quality.
    return TorchVocoder(get_spec("hifigan-v2"), HifiganGenerator(TINY1).eval(), True)


@pytest.fixture(scope="module")
def student(tiny):
    s = wrap(copy.deepcopy(tiny.module), default_plan(tiny.module))
    calibrate(s, [_mel(24, 1), _mel(16, 2)])
    return s.eval()


def test_weight_quant_is_an_int8_grid_with_a_learned_scale_per_channel():
    w = torch.randn(6, 4, 3) * torch.arange(1, 7).reshape(6, 1, 1)
    q = WeightQuant(w, axis=0)
    codes = q.codes(w)
    assert codes.abs().max() <= 127 and torch.equal(codes, codes.round())
    assert torch.allclose(q(w), codes * q.scale().reshape(6, 1, 1))
    q(w).sum().backward()  # the step size is learned: it gets a gradient (LSQ)
    assert q.log_scale.grad is not None and q.log_scale.grad.abs().sum() > 0


def test_act_quant_has_256_levels_keeps_zero_and_learns_from_clipping():
    q = ActQuant()
    q.observe()
    q(torch.linspace(-1.0, 3.0, 10_000))
    q.init_from_observed()
    x = torch.linspace(-1.0, 3.0, 10_000)
    y = q(x)
    assert len(torch.unique(y)) <= 256
    assert q(torch.zeros(1)).item() == 0.0  # zero is a code: padding stays exact
    q(torch.tensor([50.0])).sum().backward()  # clipped: the zero point learns from it
    assert q.zero.grad is not None and q.zero.grad.item() != 0


def test_equalization_keeps_the_function_and_narrows_channel_ranges(tiny):
    module = copy.deepcopy(tiny.module)
    with torch.no_grad():  # widen one channel so there is something to equalize
        module.mrfs[0].blocks[0].convs1[0].weight[0] *= 20
    reference = copy.deepcopy(module)
    pairs = equalize(module)
    assert [(p.first, p.second) for p in pairs] == equalizable_pairs(module)
    assert len(pairs) == 6  # 3 stages × 2 dilations
    assert pairs[0].range_ratio_after < pairs[0].range_ratio_before / 2
    mel = _mel(20, 3)
    with torch.no_grad():
        assert torch.allclose(module(mel), reference(mel), atol=1e-5)


def test_plan_keeps_edges_and_transposed_convs_in_float_compute(tiny):
    plan = {p.layer: p.mode for p in default_plan(tiny.module)}
    assert plan["conv_pre"] == plan["conv_post"] == "w8"
    assert all(plan[f"ups.{i}"] == "w8" for i in range(3))
    assert plan["mrfs.1.blocks.0.convs1.1"] == "int8"


def test_greedy_search_keeps_float_the_blocks_that_help_jointly(tiny, student):
    s = copy.deepcopy(student)
    result = greedy_float_groups(s, tiny.module, [_mel(12, 4)], tiny.mel_config,
                                 target_mel_l1=0.0, max_groups=2, beam=4)
    distances = [step.mel_l1 for step in result.steps]
    assert distances == sorted(distances, reverse=True)  # each choice brings it closer
    assert len(result.float_groups) == len(distances) - 1 >= 1
    assert result.steps[1].tried == 3  # round 1: every residual block, the others int8
    modes = {n: m.mode for n, m in quant_convs(s).items()}
    assert len(result.float_layers) == 4 * len(result.float_groups)  # 2 dilations × 2 convs
    assert all(modes[n] == "w8" for n in result.float_layers)
    assert sum(mode == "int8" for mode in modes.values()) == 12 - len(result.float_layers)


def test_stream_equalization_keeps_the_function_and_balances_the_stream(tiny):
    module = copy.deepcopy(tiny.module)
    with torch.no_grad():  # one wide channel in the first stage's stream
        module.ups[0].weight[:, 0] *= 30
        module.ups[0].bias[0] *= 30
    reference = copy.deepcopy(module)
    done = equalize_streams(module, [_mel(24, 7)], strength=0.5)
    assert [d.stage for d in done] == [0, 1, 2]
    assert done[0].range_ratio_after < done[0].range_ratio_before / 3
    mel = _mel(20, 8)
    with torch.no_grad():
        assert torch.allclose(module(mel), reference(mel), atol=1e-5)


@pytest.mark.slow
def test_qdq_export_runs_int8_kernels_and_matches_the_fake_quant_student(tiny, student,
                                                                         tmp_path):
    from greenvoc.quantize.onnx_variants import OnnxVocoder, runtime_ops

    path = tmp_path / "tiny.onnx"
    counts = write_qdq(student, tiny.module, tiny, path)
    assert counts == {"int8": 12, "w8": 5, "fp32": 0}
    ops = runtime_ops(path, tmp_path)
    assert ops.get("QLinearConv") == 12  # every int8 conv fused into an int8 kernel
    voc = OnnxVocoder(tiny.spec, path, True)
    mel = _mel(20, 5)
    assert match_snr_db(voc, student, mel[0]) > 35.0
    assert match_mel_l1(voc, student, mel[0]) < 0.05
    with torch.no_grad():
        fp32 = tiny.module(mel).flatten()
    # the export's difference from the student is far below the student's from fp32
    assert match_snr_db(voc, student, mel[0]) > snr_db(voc.synthesize(mel[0]), fp32) + 15


@pytest.mark.slow
def test_finetune_is_metered_stored_and_reloadable(tiny, tmp_path):
    from greenvoc.store import ResultStore
    from greenvoc.store import train_tables as tt

    store = ResultStore(f"sqlite:///{tmp_path / 'qat.db'}")
    cfg = QatConfig(steps=3, batch=1, segment_frames=8, clips=2, calibration_segments=2,
                    search_frames=8, max_float_groups=1, equalize=False, stream_strength=0)
    result = finetune(tiny, cfg, store=store)
    trained = quant_convs(result.student)["mrfs.0.blocks.0.convs1.0"].conv.weight
    # the weights learn too, not only the scales (the zoo hands over frozen modules)
    assert not torch.equal(trained, tiny.module.mrfs[0].blocks[0].convs1[0].weight)
    rows = tt.step_rows(store, result.record["train_run_id"])
    assert [r.step for r in rows] == [1, 2, 3]
    assert all(r.energy_j > 0 and r.energy_method for r in rows)
    assert result.record["steps_energy_j"] == pytest.approx(sum(r.energy_j for r in rows))
    assert result.record["prepare_energy_j"] > 0  # the search is part of the one-off cost
    assert result.record["energy_j"] == pytest.approx(result.record["steps_energy_j"]
                                                      + result.record["prepare_energy_j"])
    assert result.record["energy_label"].startswith(("measured (", "estimated ("))
    run = tt.get_run(store, result.record["train_run_id"])
    assert run.recipe == "int8-qat" and run.status == "finished"
    assert run.carbon_g == pytest.approx(rows[-1].cumulative_carbon_g) and run.carbon_g > 0
    assert set(result.record["data"]["held_out_never_used"]) == {"awb_arctic_a0007",
                                                                  "slt_arctic_a0009"}
    path = save_student(result, tmp_path / STUDENT_FILE)
    loaded, plan, _record = load_student(tiny, path)
    assert plan == plan_of(result.student)
    mel = _mel(10, 6)
    with torch.no_grad():
        assert torch.equal(loaded(mel), result.student(mel))

    changed = copy.deepcopy(tiny.module)
    with torch.no_grad():
        changed.conv_post.bias += 0.01
    other = TorchVocoder(tiny.spec, changed, True)  # other weights
    with pytest.raises(DataFileError, match="other weights"):
        load_student(other, path)


def test_variant_exports_the_saved_student(tiny, student, tmp_path):
    record = {"teacher_digest": weights_digest(tiny.module), "model": tiny.name}
    save_student(QatResult(student, plan_of(student), record), tmp_path / STUDENT_FILE)
    result = get_variant("int8-qat").apply(tiny, None, tmp_path)
    assert result.detail["low_precision_ops"]["QLinearConv"] == 12
    assert result.detail["export_match_mel_l1"] < 0.05
    assert "mlas_int8_path" in result.detail["kernels"]
    assert "QLinearConv" in result.detail["kernels"]["profile"]
    # int8 weights (the tiny graph's names and Q/DQ nodes outweigh them on disk)
    assert result.detail["param_bytes"] * 3.5 < param_bytes(tiny)


def test_variant_without_a_student_names_the_command(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("GREENVOC_QAT_DIR", str(tmp_path / "none"))
    with pytest.raises(UsageError, match="greenvoc quantize hifigan-v2 --variant int8-qat"):
        get_variant("int8-qat").apply(tiny, None, tmp_path / "work")


def test_finetune_refuses_random_weights():
    voc = TorchVocoder(get_spec("hifigan-v2"), HifiganGenerator(TINY1), False)
    with pytest.raises(UsageError, match="random weights"):
        finetune(voc, QatConfig(steps=1))


def test_augmentation_is_reproducible_from_the_seed():
    from greenvoc.quantize.qat_data import Augmentation, augment

    x = np.sin(np.arange(8000) / 20.0).astype(np.float32) * 0.5
    a = augment(x, 22050, Augmentation(), torch.Generator().manual_seed(3))
    b = augment(x, 22050, Augmentation(), torch.Generator().manual_seed(3))
    c = augment(x, 22050, Augmentation(), torch.Generator().manual_seed(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    fast = augment(x, 22050, Augmentation(gain_db=(0, 0), rate=(1.2, 1.2),
                                          noise_probability=0.0), torch.Generator())
    assert len(fast) == round(len(x) / 1.2)  # pitch and tempo up together
