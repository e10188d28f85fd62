"""The official runs of the entries whose goldens came second (MelGAN, Multi-band MelGAN,
WaveGlow, the WaveNet vocoder, UnivNet, BigVGAN, Vocos, iSTFTNet); ``make_golden.py`` calls them.
Each builds the official generator from the release's (narrowed) config, writes the release in
its exact layout with ``official_release``'s writers, loads it the way the official inference
does and stores the official output (and, where the authors' front-end runs here, their mel of
``official_release.input_wave``)."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import torch
from tests.vocoders.fidelity.official import (
    AttrConfig,
    front_end,
    librosa_mel,
    manifest_of,
    on_path,
    real_stft,
    save,
)
from tests.vocoders.official_release import input_mel, random_state


def melgan() -> None:
    from tests.vocoders.official_release import input_wave

    with on_path("descriptinc+melgan-neurips"):
        import mel2wav.modules as modules

        modules.librosa_mel_fn = librosa_mel
        model = modules.Generator(80, 32, 3)  # mel2wav/interface.py: the github models
        manifest = manifest_of(model.state_dict())
        model.load_state_dict(random_state(manifest, seed=5000))
        model.eval()
        mel_spec = {"seed": 51, "n_mels": 80, "frames": 5, "range": [-4.5, 0.5]}
        with torch.no_grad():
            out = model(input_mel(mel_spec)[None])
        # Audio2Mel on a quiet signal (−60 dB peak), where the 1e-9 of HiFi-GAN's recipe shows
        wave_spec = {"seed": 52, "rate": 22050, "seconds": 0.3, "gain": 0.002}
        wave = input_wave(wave_spec) * wave_spec["gain"]
        stft, modules.torch.stft = modules.torch.stft, real_stft
        try:
            mel = modules.Audio2Mel()(wave[None, None])[0]
        finally:
            modules.torch.stft = stft
    save("melgan", {"official": "descriptinc/melgan-neurips@"
                                "6488045bfba1975602288de07a58570c7b4d66ea",
                    "run": "mel2wav.modules.Generator(80, 32, 3)(mel), as MelVocoder.inverse",
                    "weights_seed": 5000, "manifest": manifest, "mel": mel_spec,
                    "front_end": front_end(wave_spec, mel, "Audio2Mel()(wave)")}, out)


def mb_melgan() -> None:
    import shutil
    import tarfile
    import tempfile

    from tests.vocoders.official_release import write_pwg_release

    params = {"in_channels": 80, "out_channels": 4, "kernel_size": 7, "channels": 64,
              "upsample_scales": [8, 4, 2], "stack_kernel_size": 3, "stacks": 2,
              "use_weight_norm": True, "use_causal_conv": False}
    # a release of today's version (> 0.4.2) without pqmf_params: PQMF's own defaults apply
    config = {"sampling_rate": 22050, "fft_size": 1024, "hop_size": 256, "win_length": None,
              "window": "hann", "num_mels": 80, "fmin": 80, "fmax": 7600, "format": "hdf5",
              "generator_type": "MelGANGenerator", "generator_params": params,
              "version": "0.6.2a"}
    rng = np.random.default_rng(61)
    stats = {"mean": rng.normal(-2.5, 0.5, 80).tolist(),
             "scale": rng.uniform(0.5, 1.5, 80).tolist()}
    mel_spec = {"seed": 62, "n_mels": 80, "frames": 6, "range": [-5.0, -0.5]}
    with on_path("kan-bayashi+ParallelWaveGAN"):
        from parallel_wavegan.models import MelGANGenerator
        from parallel_wavegan.utils import load_model

        manifest = manifest_of(MelGANGenerator(**params).state_dict())
        state = random_state(manifest, seed=6000)
        tmp = Path(tempfile.mkdtemp())
        try:
            archive = write_pwg_release(tmp / "ljspeech_multi_band_melgan.v2", state, config,
                                        stats, steps=1000000)
            with tarfile.open(archive) as tar:
                tar.extractall(tmp / "x", filter="data")
            model = load_model(str(tmp / "x/ljspeech_multi_band_melgan.v2/"
                                   "checkpoint-1000000steps.pkl"))
        finally:
            shutil.rmtree(tmp)
        model.remove_weight_norm()
        model.eval()
        with torch.no_grad():
            out = model.inference(input_mel(mel_spec).T, normalize_before=True)
    save("mb-melgan", {"official": "kan-bayashi/ParallelWaveGAN@"
                                   "86740373ec609cb9fb192d472d2aea125041491a",
                       "run": "utils.load_model(checkpoint) (config.yml, stats.h5, PQMF by "
                              "version), remove_weight_norm(), inference(c, normalize_before=True)",
                       "weights_seed": 6000, "manifest": manifest, "config": config,
                       "stats": stats, "mel": mel_spec}, out)


def waveglow() -> None:
    import tempfile

    from tests.vocoders.official_release import input_wave, write_waveglow

    from greenvoc.vocoders.blocks.noise import item_generators, item_randn

    config = {"n_mel_channels": 80, "n_flows": 4, "n_group": 8, "n_early_every": 2,
              "n_early_size": 2, "WN_config": {"n_layers": 2, "n_channels": 16,
                                               "kernel_size": 3}}
    mel_spec = {"seed": 71, "n_mels": 80, "frames": 4, "range": [-9.0, 0.0]}
    sigma = 0.6
    with on_path("NVIDIA+waveglow"), tempfile.TemporaryDirectory() as tmp:
        import glow

        manifest = manifest_of(glow.WaveGlow(**config).state_dict())
        path = write_waveglow(Path(tmp) / "waveglow_256channels_universal_v5.pt",
                              random_state(manifest, seed=7000), config)
        # inference.py: torch.load(path)["model"], remove_weightnorm, infer(mel, sigma)
        model = torch.load(path, weights_only=False)["model"]
        assert type(model) is glow.WaveGlow  # the stand-ins unpickle as NVIDIA's classes
        model = model.remove_weightnorm(model).eval()
        mel = input_mel(mel_spec)[None]
        gens = item_generators(1, 0)
        frames = mel.shape[-1] * 256 // config["n_group"]
        early = [k for k in range(config["n_flows"] - 1, 0, -1) if k % config["n_early_every"] == 0]
        channels = [model.n_remaining_channels] + [config["n_early_size"]] * len(early)
        draws = [item_randn(gens, (c, frames), mel) for c in channels]

        class Draw:  # torch.cuda.FloatTensor(b, c, t).normal_() on a CPU
            def __init__(self, *shape):
                self.shape = shape

            def normal_(self):
                noise = draws.pop(0)
                assert tuple(noise.shape) == self.shape
                return noise

        real = torch.cuda.FloatTensor
        torch.cuda.FloatTensor = Draw
        try:
            with torch.no_grad():
                out = model.infer(mel, sigma=sigma)
        finally:
            torch.cuda.FloatTensor = real
        assert not draws
    # mel2samp.py's front-end: TacotronSTFT(config.json's data_config).mel_spectrogram
    wave_spec = {"seed": 72, "rate": 22050, "seconds": 0.3}
    with on_path("NVIDIA+tacotron2"):
        import layers
        import stft

        layers.librosa_mel_fn = librosa_mel
        stft.pad_center = lambda data, size: __import__("librosa").util.pad_center(data,
                                                                                   size=size)
        taco = layers.TacotronSTFT(1024, 256, 1024, 80, 22050, 0.0, 8000.0)
        mel_out = taco.mel_spectrogram(input_wave(wave_spec)[None])[0]
    save("waveglow", {"official": "NVIDIA/waveglow@8afb643df59265016af6bd255c7516309d675168",
                      "run": "torch.load(release)['model'], remove_weightnorm, "
                             f"infer(mel, sigma={sigma}); torch.cuda.FloatTensor(...).normal_() "
                             "returning greenvoc's draws for seed 0",
                      "weights_seed": 7000, "manifest": manifest, "config": config,
                      "mel": mel_spec, "noise_seed": 0,
                      "front_end": front_end(wave_spec, mel_out, "NVIDIA/tacotron2@185cd24e046cc1"
                                             "304b4f8e564734d2498c6e2e6f TacotronSTFT("
                                             "1024, 256, 1024, 80, 22050, 0, 8000)"
                                             ".mel_spectrogram(wave)")}, out)


def wavenet_mol() -> None:
    import tempfile

    from tests.vocoders.official_release import write_wavenet_r9y9

    stem = "20180510_mixture_lj_checkpoint_step000320000_ema"
    with on_path("r9y9+wavenet_vocoder") as repo, tempfile.TemporaryDirectory() as tmp:
        version = types.ModuleType("wavenet_vocoder.version")  # written by setup.py
        version.__version__ = "0.0.5"
        sys.modules["wavenet_vocoder.version"] = version
        from wavenet_vocoder import builder

        hp = json.loads((repo / "presets/ljspeech_mixture.json").read_text())
        hp.update(layers=4, stacks=2, residual_channels=16, gate_channels=16,
                  skip_out_channels=16)  # narrow: the README's json with smaller widths

        def build_model():  # train.py::build_model with the json's values
            return builder.wavenet(
                out_channels=hp["out_channels"], layers=hp["layers"], stacks=hp["stacks"],
                residual_channels=hp["residual_channels"], gate_channels=hp["gate_channels"],
                skip_out_channels=hp["skip_out_channels"], cin_channels=hp["cin_channels"],
                gin_channels=hp["gin_channels"],
                weight_normalization=hp["weight_normalization"], n_speakers=hp["n_speakers"],
                dropout=hp["dropout"], kernel_size=hp["kernel_size"],
                upsample_conditional_features=hp["upsample_conditional_features"],
                upsample_scales=hp["upsample_scales"],
                freq_axis_kernel_size=hp["freq_axis_kernel_size"], scalar_input=True)

        manifest = manifest_of(build_model().state_dict())
        path = write_wavenet_r9y9(Path(tmp), random_state(manifest, seed=8000), hp, stem)
        # synthesis.py: load_state_dict(checkpoint["state_dict"]), then wavegen(fast=True)
        model = build_model()
        model.load_state_dict(torch.load(path)["state_dict"])
        model.eval()
        model.make_generation_fast_()
        mel_spec = {"seed": 81, "n_mels": 80, "frames": 2, "range": [0.1, 0.9]}
        mel = input_mel(mel_spec)
        length = mel.shape[-1] * 256
        gen = torch.Generator().manual_seed(0)
        k = hp["out_channels"] // 3
        uniforms = torch.rand(length, k + 1, generator=gen)  # greenvoc's item_rand, seed 0
        queue = []
        for t in range(length):
            queue += [1e-5 + (1 - 2e-5) * uniforms[t, :k], 1e-5 + (1 - 2e-5) * uniforms[t, k]]
        real = torch.Tensor.uniform_

        def uniform_(self, a=0.0, b=1.0, **kwargs):
            if a != 1e-5:
                return real(self, a, b, **kwargs)
            return self.copy_(queue.pop(0).reshape(self.shape))

        torch.Tensor.uniform_ = uniform_
        try:
            with torch.no_grad():
                out = model.incremental_forward(
                    torch.zeros(1, 1, 1), c=mel[None], g=None, T=length, softmax=True,
                    quantize=True, log_scale_min=hp["log_scale_min"])
        finally:
            torch.Tensor.uniform_ = real
        assert not queue
    save("wavenet-mol", {"official": "r9y9/wavenet_vocoder@"
                                     "2092a647e60ce002389818de1fa66d0a2c5763d8",
                         "run": "synthesis.py's wavegen(fast=True): make_generation_fast_(), "
                                "incremental_forward(zeros, c=mel, T=frames*256, log_scale_min); "
                                "the mixture sampler's uniform_ draws from greenvoc's seed 0",
                         "weights_seed": 8000, "manifest": manifest, "hparams": hp,
                         "stem": stem, "mel": mel_spec, "noise_seed": 0}, out)


def univnet() -> None:
    import yaml
    from tests.vocoders.official_release import input_wave

    with on_path("maum-ai+univnet", "omegaconf") as repo:
        sys.modules["omegaconf"].OmegaConf = None  # generator.py imports it, never uses it
        from model.generator import Generator

        # the checkpoint's hp_str is the training yaml's text: default_c32.yaml, narrowed
        hp_str = (repo / "config/default_c32.yaml").read_text()
        hp_str = hp_str.replace("noise_dim: 64", "noise_dim: 16").replace(
            "channel_size: 32", "channel_size: 8")
        hp = AttrConfig(yaml.safe_load(hp_str))  # inference.py: OmegaConf.create(hp_str)
        model = Generator(hp)
        manifest = manifest_of(model.state_dict())
        scales = {"kernel_conv.weight_g": 0.1, "bias_conv.weight_g": 0.1}
        model.load_state_dict(random_state(manifest, seed=9000, scales=scales))
        model.eval(inference=True)  # removes weight norm
        mel_spec = {"seed": 91, "n_mels": 100, "frames": 4, "range": [-8.0, 0.0]}
        mel = input_mel(mel_spec)[None]
        # Generator.inference(c, z) up to its int16 cast, z drawn as greenvoc draws it
        z = torch.randn(1, hp.gen.noise_dim, mel.shape[-1] + 10,
                        generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            padded = torch.cat((mel, torch.full((1, 100, 10), -11.5129)), dim=2)
            out = model(padded, z).squeeze()[: -(model.hop_length * 10)]
        # the training mel: utils/stft.py TacotronSTFT with the hp's audio section
        import utils.stft
        from utils.stft import TacotronSTFT

        utils.stft.librosa_mel_fn = librosa_mel
        a = hp.audio
        taco = TacotronSTFT(a.filter_length, a.hop_length, a.win_length, a.n_mel_channels,
                            a.sampling_rate, a.mel_fmin, a.mel_fmax)
        wave_spec = {"seed": 92, "rate": a.sampling_rate, "seconds": 0.3}
        stft, torch.stft = torch.stft, real_stft
        try:
            mel_out = taco.mel_spectrogram(input_wave(wave_spec)[None])[0]
        finally:
            torch.stft = stft
    save("univnet-c32", {"official": "maum-ai/univnet@9bb2b54838bb6d7ce767131cc7b8b61198bc7558",
                         "run": "Generator(OmegaConf.create(hp_str)), eval(inference=True), "
                                "inference(mel, z) without its final int16 cast (MAX_WAV_VALUE "
                                "· audio, clamp, short); z = greenvoc's noise for seed 0",
                         "weights_seed": 9000, "weight_scales": scales,
                         "manifest": manifest, "hp_str": hp_str,
                         "mel": mel_spec, "noise_seed": 0,
                         "front_end": front_end(wave_spec, mel_out, "utils/stft.py "
                                                "TacotronSTFT(hp.audio).mel_spectrogram(wav)")},
         out)


def bigvgan(name: str, config_file: str, narrow: dict, weight_norm: bool, seed: int,
            scales: dict) -> None:
    import tempfile

    from tests.vocoders.official_release import input_wave, write_bigvgan

    with on_path("NVIDIA+BigVGAN") as repo, tempfile.TemporaryDirectory() as tmp:
        import bigvgan as official
        from env import AttrDict

        config = json.loads((repo / config_file).read_text()) | narrow
        model = official.BigVGAN(AttrDict(config))
        if not weight_norm:  # a release saved after remove_weight_norm()
            model.remove_weight_norm()
        # the Kaiser filters are buffers of the state dict, fixed by the config: kept as built
        buffers = {k: v for k, v in model.state_dict().items() if k.endswith(".filter")}
        manifest = manifest_of({k: v for k, v in model.state_dict().items()
                                if k not in buffers})
        state = random_state(manifest, seed=seed, scales=scales) | buffers
        folder = write_bigvgan(Path(tmp) / name, state, config)
        # BigVGAN.from_pretrained(<local folder>)'s steps: config.json, then the generator,
        # loaded after remove_weight_norm() when the release has none
        h = official.load_hparams_from_json(folder.parent / "config.json")
        model = official.BigVGAN(h, use_cuda_kernel=False)
        checkpoint = torch.load(folder, map_location="cpu")
        try:
            model.load_state_dict(checkpoint["generator"])
        except RuntimeError:
            model.remove_weight_norm()
            model.load_state_dict(checkpoint["generator"])
        model.eval()
        model.remove_weight_norm()  # inference.py
        mel_spec = {"seed": seed // 1000, "n_mels": config["num_mels"], "frames": 3,
                    "range": [-8.0, 0.0]}
        with torch.no_grad():
            out = model(input_mel(mel_spec)[None])
        # inference.py's front-end: meldataset.get_mel_spectrogram(wav, h)
        from meldataset import mel_spectrogram

        wave_spec = {"seed": seed // 1000 + 1, "rate": config["sampling_rate"], "seconds": 0.3}
        mel = mel_spectrogram(input_wave(wave_spec)[None], h.n_fft, h.num_mels,
                              h.sampling_rate, h.hop_size, h.win_size, h.fmin, h.fmax)[0]
    save(name, {"official": "NVIDIA/BigVGAN@7d2b454564a6c7d014227f635b7423881f14bdac",
                "run": f"BigVGAN.from_pretrained's loading of the folder ({config_file}, "
                       "narrowed), remove_weight_norm(), forward(mel)",
                "weights_seed": seed, "weight_scales": scales, "manifest": manifest,
                "filters": sorted(buffers),
                "config": config, "weight_norm": weight_norm, "mel": mel_spec,
                "front_end": front_end(wave_spec, mel, "meldataset.mel_spectrogram(wav, h.n_fft, "
                                       "h.num_mels, h.sampling_rate, h.hop_size, h.win_size, "
                                       "h.fmin, h.fmax)")}, out)


def bigvgan_base() -> None:
    bigvgan("bigvgan-base-22k", "configs/bigvgan_base_22khz_80band.json",
            {"upsample_initial_channel": 32}, weight_norm=True, seed=10000,
            scales={"conv_post.weight_g": 0.3})  # most samples inside tanh's linear range


def bigvgan_v2() -> None:
    bigvgan("bigvgan-v2-22k", "configs/bigvgan_v2_22khz_80band_256x.json",
            {"upsample_initial_channel": 128}, weight_norm=False, seed=11000,
            scales={"conv_post.weight": 0.05})  # most samples inside the [-1, 1] clamp


def vocos() -> None:
    import tempfile

    import librosa
    import yaml
    from tests.vocoders.official_release import write_vocos
    from torch import nn

    stubs = ("torchaudio", "torchaudio.functional", "torchaudio.functional.functional",
             "encodec")
    with on_path("gemelo-ai+vocos", *stubs) as repo, tempfile.TemporaryDirectory() as tmp:
        sys.modules["encodec"].EncodecModel = None  # feature_extractors.py imports it
        # heads.py imports these for the IMDCT heads, which the mel model does not use
        sys.modules["torchaudio.functional.functional"]._hz_to_mel = None
        sys.modules["torchaudio.functional.functional"]._mel_to_hz = None
        from vocos.heads import ISTFTHead
        from vocos.models import VocosBackbone
        from vocos.pretrained import Vocos, instantiate_class

        # the Hub's config.yaml (configs/vocos.yaml's model section), narrowed
        train = yaml.safe_load((repo / "configs/vocos.yaml").read_text())["model"]["init_args"]
        config = {k: train[k] for k in ("feature_extractor", "backbone", "head")}
        config["backbone"]["init_args"].update(dim=32, intermediate_dim=64, num_layers=2)
        config["head"]["init_args"]["dim"] = 32

        class MelSpectrogramFeatures(nn.Module):
            """torchaudio's MelSpectrogram(power=1) buffers under the official names (its
            transforms/_transforms.py: spectrogram.window, mel_scale.fb (freq, mels))."""

            def __init__(self, sample_rate, n_fft, hop_length, n_mels, padding):
                super().__init__()
                self.mel_spec = nn.Module()
                self.mel_spec.spectrogram = nn.Module()
                self.mel_spec.spectrogram.register_buffer("window", torch.hann_window(n_fft))
                self.mel_spec.mel_scale = nn.Module()
                fb = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, htk=True,
                                         norm=None)
                self.mel_spec.mel_scale.register_buffer("fb", torch.tensor(fb.T).float())

        args = config["feature_extractor"]["init_args"]
        model = Vocos(MelSpectrogramFeatures(**args),
                      instantiate_class((), config["backbone"]),
                      instantiate_class((), config["head"]))
        assert isinstance(model.backbone, VocosBackbone) and isinstance(model.head, ISTFTHead)
        fixed = ("feature_extractor.", "head.istft.window")  # buffers, fixed by the config
        manifest = manifest_of({k: v for k, v in model.state_dict().items()
                                if not k.startswith(fixed)})
        # LayerNorm gains of N(0, 1), not the biases' N(0, 0.1²): else the head sees ~0 and
        # the output is a 0.02-peak noise
        scales = {"final_layer_norm.weight": 10.0}
        state = random_state(manifest, seed=12000, scales=scales) | {
            k: v for k, v in model.state_dict().items() if k.startswith(fixed)}
        path = write_vocos(Path(tmp), state, config)
        # Vocos.from_pretrained: from_hparams(config.yaml), load_state_dict(pytorch_model.bin)
        model.load_state_dict(torch.load(path, map_location="cpu"))
        model.eval()
        mel_spec = {"seed": 121, "n_mels": 100, "frames": 6, "range": [-8.0, 1.0]}
        out = model.decode(input_mel(mel_spec)[None])
    save("vocos-mel-24k", {"official": "gemelo-ai/vocos@c859e3b7b534f3776a357983029d34170ddd6fc3",
                           "run": "Vocos.from_pretrained's loading (config.yaml narrowed, "
                                  "pytorch_model.bin), decode(mel)",
                           "weights_seed": 12000, "weight_scales": scales,
                           "manifest": manifest,
                           "buffers": sorted(k for k in state if k.startswith(fixed)),
                           "config": config, "mel": mel_spec}, out)


def istftnet() -> None:
    import tempfile

    from tests.vocoders.official_release import write_istftnet

    with on_path("rishikksh20+iSTFTNet-pytorch") as repo, tempfile.TemporaryDirectory() as tmp:
        from env import AttrDict
        from models import Generator
        from stft import TorchSTFT

        config = json.loads((repo / "config_v1.json").read_text()) | {
            "upsample_initial_channel": 32}  # narrow
        manifest = manifest_of(Generator(AttrDict(config)).state_dict())
        path = write_istftnet(Path(tmp), random_state(manifest, seed=13000), config)
        # inference.py: config.json from the checkpoint's folder, Generator(h), load, eval,
        # remove_weight_norm, generator(mel) → TorchSTFT.inverse(spec, phase)
        h = AttrDict(json.loads((path.parent / "config.json").read_text()))
        generator = Generator(h)
        generator.load_state_dict(torch.load(path, map_location="cpu")["generator"])
        generator.eval()
        generator.remove_weight_norm()
        stft = TorchSTFT(filter_length=h.gen_istft_n_fft, hop_length=h.gen_istft_hop_size,
                         win_length=h.gen_istft_n_fft)
        mel_spec = {"seed": 131, "n_mels": 80, "frames": 4, "range": [-8.0, 0.0]}
        with torch.no_grad():
            spec, phase = generator(input_mel(mel_spec)[None])
            out = stft.inverse(spec, phase)
    save("istftnet", {"official": "rishikksh20/iSTFTNet-pytorch@"
                                  "d10fe7d5b5d5d87fda2ebc4f19a2d72ac07eb23c",
                      "run": "inference.py's steps: Generator(config.json narrowed), "
                             "remove_weight_norm(), TorchSTFT.inverse(*generator(mel))",
                      "weights_seed": 13000, "manifest": manifest, "config": config,
                      "mel": mel_spec}, out)
