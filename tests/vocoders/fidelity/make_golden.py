"""Run the official code on the fidelity suite's random-weight releases; write the golden files.

Not run by the tests (the official code never enters greenvoc). To reproduce, put each official
repository at the commit named in its golden file under OFFICIAL (default /tmp/official, one
folder per ``owner+name``) and run, from the repository root::

    .venv/bin/python tests/vocoders/fidelity/make_golden.py            # every entry
    .venv/bin/python tests/vocoders/fidelity/make_golden.py melgan waveglow  # some

The folders: kan-bayashi+ParallelWaveGAN, lmnt-com+diffwave, ivanvovk+WaveGrad, fatchord+WaveRNN,
descriptinc+melgan-neurips, NVIDIA+waveglow, NVIDIA+tacotron2 (its submodule, for the mel),
r9y9+wavenet_vocoder (at 2092a64), maum-ai+univnet, NVIDIA+BigVGAN, gemelo-ai+vocos,
rishikksh20+iSTFTNet-pytorch. The first four carry the one-word edits docs/zoo.md lists
(``scipy.signal.windows.kaiser``, ``np.prod``); the others are unedited: what today's libraries
need (librosa's keyword-only mel basis, torch.stft's complex output, WaveGlow's CUDA-only noise)
is patched from here, around the call.

For each entry it builds the official generator with the release's config, reads the key/shape
manifest from its ``state_dict()``, draws the weights (``official_release.random_state``), loads
them into the official model, runs the official inference on the suite's mel with the noise
greenvoc draws for the same seed (stochastic models compared with the same noise), and stores
manifest, inputs and the official output. The greenvoc side of the comparison is the test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.vocoders.fidelity.official import (
    AttrConfig,
    manifest_of,
    on_path,
    save,
)
from tests.vocoders.official_release import input_mel, random_state


def pwg() -> None:
    from greenvoc.vocoders.blocks.noise import item_generators, item_randn

    with on_path("kan-bayashi+ParallelWaveGAN"):
        from parallel_wavegan.models import ParallelWaveGANGenerator

        params = {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "layers": 6,
                  "stacks": 2, "residual_channels": 64, "gate_channels": 128,
                  "skip_channels": 64, "aux_channels": 80, "aux_context_window": 2,
                  "dropout": 0.0, "bias": True, "use_weight_norm": True,
                  "use_causal_conv": False, "upsample_net": "ConvInUpsampleNetwork",
                  "upsample_params": {"upsample_scales": [4, 4, 4, 4]}}
        model = ParallelWaveGANGenerator(**params)
        manifest = manifest_of(model.state_dict())
        state = random_state(manifest, seed=1000)
        model.load_state_dict(state)
        rng = np.random.default_rng(11)
        stats = {"mean": rng.normal(-2.5, 0.5, 80).tolist(),
                 "scale": rng.uniform(0.5, 1.5, 80).tolist()}
        model.register_buffer("mean", torch.tensor(stats["mean"]).float())
        model.register_buffer("scale", torch.tensor(stats["scale"]).float())
        model.remove_weight_norm()
        model.eval()
        mel_spec = {"seed": 12, "n_mels": 80, "frames": 6, "range": [-5.0, -0.5]}
        mel = input_mel(mel_spec)
        z = item_randn(item_generators(1, 0), (1, mel.shape[-1] * 256), mel[None])
        with torch.no_grad():
            out = model.inference(c=mel.T, x=z[0].T, normalize_before=True)
    config = {"sampling_rate": 22050, "fft_size": 1024, "hop_size": 256, "win_length": None,
              "window": "hann", "num_mels": 80, "fmin": 80, "fmax": 7600, "format": "hdf5",
              "generator_type": "ParallelWaveGANGenerator", "generator_params": params,
              "version": "0.6.2a"}
    save("pwg", {"official": "kan-bayashi/ParallelWaveGAN@86740373ec609cb9fb192d472d2aea125041491a",
                 "run": "ParallelWaveGANGenerator.inference(c, x=z, normalize_before=True) "
                        "after register_stats-equivalent buffers and remove_weight_norm()",
                 "weights_seed": 1000, "manifest": manifest, "config": config, "stats": stats,
                 "mel": mel_spec, "noise_seed": 0}, out)


def diffwave() -> None:
    from greenvoc.vocoders.blocks.noise import item_generators, item_randn

    with on_path("lmnt-com+diffwave/src", "torchaudio"):
        from diffwave import inference
        from diffwave.model import DiffWave
        from diffwave.params import AttrDict, params

        model = DiffWave(AttrDict(params))
        manifest = manifest_of(model.state_dict())
        state = random_state(manifest, seed=2000)
        mel_spec = {"seed": 21, "n_mels": 80, "frames": 4, "range": [0.1, 0.9]}
        mel = input_mel(mel_spec)
        # greenvoc's draws for seed 0: the initial audio, then one per step n > 0 in order
        gens = item_generators(1, 0)
        length = mel.shape[-1] * 256
        draws = [item_randn(gens, (length,), mel[None]) for _ in range(6)]
        queue = list(draws)

        def randn(*shape, **kwargs):
            return queue.pop(0)

        def randn_like(x, **kwargs):
            return queue.pop(0)

        weights = Path("/tmp/official/diffwave-weights.pt")
        torch.save({"model": state, "params": dict(params), "step": 1}, weights)
        real_randn, real_like = torch.randn, torch.randn_like
        torch.randn, torch.randn_like = randn, randn_like
        try:
            audio, _ = inference.predict(mel[None], str(weights), device=torch.device("cpu"),
                                         fast_sampling=True)
        finally:
            torch.randn, torch.randn_like = real_randn, real_like
        assert not queue
    save("diffwave", {"official": "lmnt-com/diffwave@0594106093b8d8c444de8bd8cd26482f653c569f",
                      "run": "inference.predict(spectrogram, weights.pt, fast_sampling=True), "
                             "torch.randn/randn_like returning greenvoc's draws for seed 0",
                      "weights_seed": 2000, "manifest": manifest, "params": dict(params),
                      "mel": mel_spec, "noise_seed": 0}, audio)


def wavegrad() -> None:
    with on_path("ivanvovk+WaveGrad", "torchaudio", "torchaudio.transforms") as repo:
        from model import WaveGrad

        raw = json.loads((repo / "configs/default.json").read_text())
        # the published release is {"model": state} with no config: the full-size default.json
        model = WaveGrad(AttrConfig(raw))
        state = model.state_dict()
        manifest = manifest_of(state)
        model.load_state_dict(random_state(manifest, seed=3000), strict=False)
        # as notebooks/inference.ipynb: the file holds a list of float32 scalars
        schedule = torch.FloatTensor(torch.load(repo / "schedules/pretrained/6iters.pt"))
        model.set_new_noise_schedule(lambda **k: schedule, {"steps": schedule.shape[-1]})
        model.eval()
        mel_spec = {"seed": 31, "n_mels": 80, "frames": 3, "range": [-4.0, 0.0]}
        mel = input_mel(mel_spec)
        gen = torch.Generator().manual_seed(0)
        noise = torch.randn(7, 1, 900, generator=gen)
        order = [noise[0]] + [noise[t + 1] for t in range(5, 0, -1)]
        real = torch.randn, torch.randn_like

        def draw(*args, **kwargs):
            return order.pop(0).clone()

        torch.randn, torch.randn_like = draw, draw
        try:
            out = model(mel[None])
        finally:
            torch.randn, torch.randn_like = real
        assert not order
    save("wavegrad-lj", {"official": "ivanvovk/WaveGrad@721c37c216132a2ef0a16adc38439f993998e0b7",
                         "run": "WaveGrad(config).forward(mel) with schedules/pretrained/"
                                "6iters.pt; torch.randn/randn_like returning greenvoc's draws",
                         "weights_seed": 3000, "manifest": manifest, "config": raw,
                         "mel": mel_spec, "noise_seed": 0}, out)


def wavernn() -> None:
    with on_path("fatchord+WaveRNN", "utils.display"):
        sys.modules["utils.display"].stream = lambda *a, **k: None
        sys.modules["utils.display"].progbar = lambda *a, **k: ""
        sys.modules["utils.display"].time = __import__("time")  # display.py's star export
        from models.fatchord_version import WaveRNN

        dims = {"rnn_dims": 32, "fc_dims": 32, "bits": 9, "pad": 2,
                "upsample_factors": (5, 5, 11), "feat_dims": 80, "compute_dims": 16,
                "res_out_dims": 16, "res_blocks": 2, "hop_length": 275, "sample_rate": 22050,
                "mode": "MOL"}
        model = WaveRNN(**dims)
        manifest = manifest_of(model.state_dict())
        model.load_state_dict(random_state(manifest, seed=4000))
        mel_spec = {"seed": 41, "n_mels": 80, "frames": 30, "range": [0.1, 0.9]}
        mel = input_mel(mel_spec)
        target, overlap = 11_000, 550
        total = mel.shape[-1] * 275
        n = (total - overlap) // (target + overlap)
        n += (total - (n * (overlap + target) + overlap)) != 0
        steps = target + 2 * overlap
        gen = torch.Generator().manual_seed(0)
        uniforms = torch.rand(steps, n, 11, generator=gen)
        queue = []
        for i in range(steps):
            queue += [1e-5 + (1 - 2e-5) * uniforms[i, :, :10].unsqueeze(0),
                      1e-5 + (1 - 2e-5) * uniforms[i, :, 10].unsqueeze(0)]
        real = torch.Tensor.uniform_

        def uniform_(self, a=0.0, b=1.0, **kwargs):
            if a != 1e-5:  # a GRUCell's initialisation, not the sampler
                return real(self, a, b, **kwargs)
            return self.copy_(queue.pop(0).reshape(self.shape))

        torch.Tensor.uniform_ = uniform_
        import models.fatchord_version as fv
        fv.save_wav = lambda *a, **k: None
        try:
            out = model.generate(mel[None], "unused.wav", True, target, overlap, False)
        finally:
            torch.Tensor.uniform_ = real
        assert not queue
    save("wavernn-lj", {"official": "fatchord/WaveRNN@83c08fdcd625be56244f4145f41500468974b144",
                        "run": "WaveRNN.generate(mel, batched=True, target=11000, overlap=550), "
                               "the MOL sampler's uniform_ draws taken from greenvoc's seed 0",
                        "weights_seed": 4000, "manifest": manifest, "dims": dims,
                        "mel": mel_spec, "noise_seed": 0}, torch.as_tensor(out))


if __name__ == "__main__":
    from tests.vocoders.fidelity import runs

    makers = {"pwg": pwg, "diffwave": diffwave, "wavegrad-lj": wavegrad, "wavernn-lj": wavernn,
              "melgan": runs.melgan, "mb-melgan": runs.mb_melgan, "waveglow": runs.waveglow,
              "wavenet-mol": runs.wavenet_mol, "univnet-c32": runs.univnet,
              "bigvgan-base-22k": runs.bigvgan_base, "bigvgan-v2-22k": runs.bigvgan_v2,
              "vocos-mel-24k": runs.vocos, "istftnet": runs.istftnet}
    for name in sys.argv[1:] or makers:
        makers[name]()
