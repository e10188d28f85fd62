"""DNSMOS: non-intrusive predicted MOS (P.835 SIG/BAK/OVRL and P.808), Microsoft's ONNX models.

Source of the definition: microsoft/DNS-Challenge ``DNSMOS/dnsmos_local.py`` (``ComputeScore``),
as shipped again by the ``speechmos`` package (``speechmos/dnsmos.py``), whose wheel carries the
models used here: ``speechmos/dnsmos_models/sig_bak_ovr.onnx`` (P.835) and ``model_v8.onnx``
(P.808). The folder is found with :func:`importlib.util.find_spec`; speechmos is not imported.

Recipe, per clip (16 kHz mono):

1. the clip is repeated (``x = x ++ x``) until it is at least 9.01 s (144,160 samples) long;
2. windows of 9.01 s start every 1 s: ``num_hops = int(floor(T/16000) − 9.01) + 1``;
3. P.835: each window, float32 ``(1, 144160)``, gives raw (SIG, BAK, OVRL); the non-personalized
   calibration polynomials (highest degree first) map them to MOS:
   SIG ``[-0.08397278, 1.22083953, 0.0052439]``, BAK ``[-0.13166888, 1.60915514, -0.39604546]``,
   OVRL ``[-0.06766283, 1.11546468, 0.04602535]``;
4. P.808: the window less its last 160 samples → librosa mel power spectrogram (n_fft 321, hop
   160, 120 mels, librosa defaults otherwise) → ``(power_to_db(ref=max) + 40) / 40``, transposed
   to ``(900, 120)``; the model's output is the MOS, no calibration;
5. the clip's score is the mean over windows.

All windows of a clip run as one batch (the models take ``(N, ...)``), which gives the values of
the one-window-at-a-time reference up to float rounding. One ONNX session per model per process,
created on first use.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from greenvoc.metrics.base import Metric, MetricError, at_rate

SAMPLE_RATE_HZ = 16000
WINDOW_S = 9.01
_WINDOW_SAMPLES = int(WINDOW_S * SAMPLE_RATE_HZ)  # 144160

# np.poly1d coefficients, highest degree first (dnsmos_local.py, is_personalized_MOS=False)
POLY_SIG = (-0.08397278, 1.22083953, 0.0052439)
POLY_BAK = (-0.13166888, 1.60915514, -0.39604546)
POLY_OVRL = (-0.06766283, 1.11546468, 0.04602535)

_onnx_threads = 0  # 0: onnxruntime's default (all cores)


def set_onnx_threads(n: int) -> None:
    """Threads per ONNX session created after this call (a worker of a pool sets 1)."""
    global _onnx_threads
    _onnx_threads = int(n)
    _sessions.cache_clear()


def model_dir() -> Path:
    """The ``dnsmos_models`` folder inside the installed speechmos package."""
    spec = importlib.util.find_spec("speechmos")
    if spec is None or not spec.submodule_search_locations:
        raise MetricError(
            "DNSMOS needs the models shipped in the speechmos package: pip install speechmos"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "dnsmos_models"
    for name in ("sig_bak_ovr.onnx", "model_v8.onnx"):
        if not (folder / name).is_file():
            raise MetricError(f"{folder / name} is missing; reinstall speechmos")
    return folder


@functools.lru_cache(maxsize=1)
def _sessions():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = _onnx_threads
    options.inter_op_num_threads = 1
    folder = model_dir()
    providers = ["CPUExecutionProvider"]
    p835 = ort.InferenceSession(str(folder / "sig_bak_ovr.onnx"), options, providers=providers)
    p808 = ort.InferenceSession(str(folder / "model_v8.onnx"), options, providers=providers)
    return p835, p808


def windows(samples_16k: np.ndarray) -> np.ndarray:
    """The 9.01 s windows DNSMOS scores, ``(N, 144160)`` float64 (steps 1–2 of the recipe)."""
    audio = np.asarray(samples_16k, dtype=np.float64)
    if audio.size == 0:
        raise MetricError("DNSMOS got an empty signal")
    while len(audio) < _WINDOW_SAMPLES:
        audio = np.append(audio, audio)
    fs = SAMPLE_RATE_HZ
    num_hops = int(np.floor(len(audio) / fs) - WINDOW_S) + 1
    segments = [audio[int(i * fs) : int((i + WINDOW_S) * fs)] for i in range(num_hops)]
    return np.stack([s for s in segments if len(s) >= _WINDOW_SAMPLES])


def p808_features(window: np.ndarray) -> np.ndarray:
    """P.808 input for one window: ``(900, 120)`` float32 scaled log-mel (step 4)."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=window[:-160], sr=SAMPLE_RATE_HZ, n_fft=321, hop_length=160, n_mels=120
    )
    return ((librosa.power_to_db(mel, ref=np.max) + 40) / 40).T.astype(np.float32)


def dnsmos_16k(samples_16k: np.ndarray) -> dict[str, float]:
    """DNSMOS of a 16 kHz clip: ``dnsmos_{sig,bak,ovrl,p808}`` in MOS units (1–5)."""
    batch = windows(samples_16k)
    p835, p808 = _sessions()
    raw = p835.run(None, {"input_1": batch.astype(np.float32)})[0]  # (N, 3): SIG, BAK, OVRL
    mels = np.stack([p808_features(w) for w in batch])
    p808_mos = p808.run(None, {"input_1": mels})[0][:, 0]
    return {
        "dnsmos_sig": float(np.mean(np.polyval(POLY_SIG, raw[:, 0]))),
        "dnsmos_bak": float(np.mean(np.polyval(POLY_BAK, raw[:, 1]))),
        "dnsmos_ovrl": float(np.mean(np.polyval(POLY_OVRL, raw[:, 2]))),
        "dnsmos_p808": float(np.mean(p808_mos)),
    }


def _group(estimate: np.ndarray, reference: np.ndarray | None, sample_rate: int) -> dict:
    if sample_rate < SAMPLE_RATE_HZ:
        raise MetricError(
            f"DNSMOS runs at {SAMPLE_RATE_HZ} Hz; got {sample_rate} Hz audio, which would have "
            "to be upsampled"
        )
    return dnsmos_16k(at_rate(estimate, sample_rate, SAMPLE_RATE_HZ))


def _declare(name: str, what: str) -> Metric:
    return Metric(
        name=name, higher_is_better=True, sample_rate=SAMPLE_RATE_HZ, needs_reference=False,
        range=(1.0, 5.0), unit="MOS", group="dnsmos", compute_group=_group,
        min_input_rate_hz=SAMPLE_RATE_HZ,
        detail=f"DNSMOS {what}: speechmos' ONNX model, 16 kHz, clip repeated to >= 9.01 s, "
        "9.01 s windows with 1 s hop, mean over windows (microsoft/DNS-Challenge "
        "DNSMOS/dnsmos_local.py)",
    )


METRICS = (
    _declare("dnsmos_ovrl", "P.835 overall quality, non-personalized polynomial calibration"),
    _declare("dnsmos_sig", "P.835 speech signal quality, non-personalized polynomial calibration"),
    _declare("dnsmos_bak", "P.835 background noise quality, non-personalized calibration"),
    _declare("dnsmos_p808", "P.808 overall quality (model_v8, log-mel input, no calibration)"),
)
