"""``int8-qat``: the student of :mod:`.qat`, exported to onnxruntime int8 (:mod:`.qdq_export`).

Fine-tuning takes minutes to an hour, so it is its own step (``greenvoc quantize NAME --variant
int8-qat --steps N``), which saves the student as ``student.pt`` in its ``--out`` folder
(default ``greenvoc-results/quantized/NAME-int8-qat``, or ``$GREENVOC_QAT_DIR/NAME-int8-qat``).
Applying the variant (``bench --variants …,int8-qat`` included) reads that student — from the
work folder first — writes the QDQ graph, checks it against the fake-quant student
(:data:`MATCH_MIN_SNR_DB`) and runs it with onnxruntime. The detail carries the student's
record: configuration, layer plan, the search, the training data, the fine-tuning's energy.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from greenvoc.errors import UsageError
from greenvoc.quantize.base import Variant, VariantResult, register, torch_module
from greenvoc.quantize.onnx_variants import OnnxVocoder, onnx_available, runtime_ops
from greenvoc.vocoders.base import Vocoder, VocoderError

#: onnxruntime vs fake-quant PyTorch, log-mel L1 (nats): above this the export is refused.
#: Measured on HiFi-GAN V1 (all-int8 student, espeak-ng mel): 0.15 between the two, while the
#: student was 0.56 from fp32 and int8 weights alone 0.08.
MATCH_MAX_MEL_L1 = 0.25
CHECK_FRAMES = 64


def qat_dir(model: str) -> Path:
    root = Path(os.environ.get("GREENVOC_QAT_DIR", "greenvoc-results/quantized"))
    return root / f"{model}-int8-qat"


def student_path(model: str, workdir: Path | None = None) -> Path:
    """Where the student of ``model`` is read from: ``workdir`` if it holds one, else
    :func:`qat_dir`."""
    from greenvoc.quantize.qat import STUDENT_FILE

    if workdir is not None and (workdir / STUDENT_FILE).is_file():
        return workdir / STUDENT_FILE
    return qat_dir(model) / STUDENT_FILE


def check_mel(voc: Vocoder, mels: list[torch.Tensor] | None) -> torch.Tensor:
    """A mel to compare onnxruntime with PyTorch on: the first given, else a synthetic voiced
    sound (harmonics of a gliding 120–220 Hz tone, syllable-rate envelope)."""
    if mels:
        return voc.check_mel(mels[0])[0][:, :CHECK_FRAMES]
    sr = voc.sample_rate
    t = np.arange(int(0.75 * sr)) / sr
    phase = 2 * np.pi * np.cumsum(120 + 100 * t / t[-1]) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 20)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return voc.mel((0.3 * x / np.abs(x).max()).astype(np.float32))[:, :CHECK_FRAMES]


def _int8_qat(voc: Vocoder, mels: list[torch.Tensor] | None, workdir: Path) -> VariantResult:
    import onnxruntime as ort

    from greenvoc.quantize.kernels import int8_isa, profile_ops
    from greenvoc.quantize.qat import load_student
    from greenvoc.quantize.qdq_export import match_mel_l1, match_snr_db, write_qdq

    path = student_path(voc.name, workdir)
    if not path.is_file():
        raise UsageError(f"int8-qat: no fine-tuned student of {voc.name} at {path}; run "
                         f"`greenvoc quantize {voc.name} --variant int8-qat --steps N` first "
                         "(or set GREENVOC_QAT_DIR to the folder that holds "
                         f"{voc.name}-int8-qat/)")
    student, plan, record = load_student(voc, path)
    onnx_path = workdir / "int8-qat.onnx"
    counts = write_qdq(student, torch_module(voc, "int8-qat"), voc, onnx_path)
    onnx_voc = OnnxVocoder(voc.spec, onnx_path, voc.has_weights)
    mel = check_mel(voc, mels)
    match = match_mel_l1(onnx_voc, student, mel)
    if match > MATCH_MAX_MEL_L1:
        raise VocoderError(f"{voc.name}: the int8-qat ONNX graph does not compute what its "
                           f"fake-quant student does (log-mel L1 {match:.3f} > "
                           f"{MATCH_MAX_MEL_L1} nats); on AVX2 without VNNI, uint8×int8 kernels "
                           "can saturate: see detail['kernels']")
    runtime = runtime_ops(onnx_path, workdir)
    detail = {
        "api": "greenvoc QAT (LSQ fake quantization, distillation) → QDQ graph with the "
               "learned scales",
        "format": "QDQ", "weights": "int8 per output channel (learned scales)",
        "activations": "uint8 per tensor (learned scale and zero point)",
        "student": str(path), "layers": counts,
        "kept_float": [p.layer for p in plan if p.mode != "int8"],
        "export_match_mel_l1": match,
        "export_match_snr_db": match_snr_db(onnx_voc, student, mel),
        "onnxruntime": ort.__version__,
        "runtime_ops": runtime,
        "low_precision_ops": {op: n for op, n in runtime.items()
                              if op.startswith("QLinear") or op.endswith("Integer")},
        "kernels": int8_isa() | {"profile": profile_ops(onnx_path, mel[None].numpy(), workdir,
                                                        threads=torch.get_num_threads())},
        "qat": record,
    }
    return VariantResult(onnx_voc, onnx_path.stat().st_size, detail)


register(Variant(
    "int8-qat",
    "quantization-aware fine-tuned student (distilled from fp32 on espeak-ng speech, learned "
    "scales, fragile layers float by a joint search) exported to onnxruntime int8 QDQ; needs "
    "`greenvoc quantize NAME --variant int8-qat` first", False, _int8_qat, onnx_available,
    prerequisite="greenvoc quantize NAME --variant int8-qat --steps N (fine-tunes the student)",
))
