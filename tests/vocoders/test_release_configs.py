"""Configs follow the checkpoint: each loader builds the architecture its release's own config
declares (BigVGAN's and iSTFTNet's config.json, Vocos's config.yaml, UnivNet's hp_str, r9y9's
hyper-parameter json, WaveGlow's tensor shapes), or refuses a release trained on another
front-end with a message naming both values. No network is built here: only the config is read.
"""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from greenvoc.vocoders import CheckpointError, get_spec
from greenvoc.vocoders.registry import configured_spec
from tests.vocoders.official_release import write_waveglow

BIGVGAN = {"resblock": "1", "upsample_rates": [8, 8, 2, 2],
           "upsample_kernel_sizes": [16, 16, 4, 4], "upsample_initial_channel": 32,
           "resblock_kernel_sizes": [3, 7], "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5]],
           "activation": "snake", "snake_logscale": True, "num_mels": 80, "n_fft": 1024,
           "hop_size": 256, "win_size": 1024, "sampling_rate": 22050, "fmin": 0, "fmax": 8000}


def release(folder, checkpoint: str, config_name: str, config: dict) -> object:
    folder.mkdir(exist_ok=True)
    torch.save({}, folder / checkpoint)
    text = yaml.safe_dump(config) if config_name.endswith(".yaml") else json.dumps(config)
    (folder / config_name).write_text(text)
    return folder / checkpoint


def test_bigvgan_builds_its_config_json(tmp_path):
    path = release(tmp_path, "bigvgan_generator.pt", "config.json", BIGVGAN)
    config = configured_spec(get_spec("bigvgan-base-22k"), path).config
    assert config.upsample_initial_channel == 32 and config.activation == "snake"
    assert config.resblock_dilation_sizes == ((1, 3, 5), (1, 3, 5))
    # v2's "fmax": null is sr/2, the bigvgan-v2-22k-80 front-end's
    v2 = release(tmp_path / "v2", "bigvgan_generator.pt", "config.json",
                 BIGVGAN | {"fmax": None, "upsample_rates": [4, 4, 2, 2, 2, 2],
                            "upsample_kernel_sizes": [8, 8, 4, 4, 4, 4],
                            "use_tanh_at_final": False})
    assert configured_spec(get_spec("bigvgan-v2-22k"), v2).config.use_tanh_at_final is False


@pytest.mark.parametrize("change, message", [
    ({"sampling_rate": 24000}, r"sampling_rate is 24000 but this entry's is 22050"),
    ({"fmax": None}, r"fmax is 11025.0 but this entry's is 8000.0"),
    ({"resblock": "2"}, r"resblock is '2' but this entry's is '1'"),
    ({"upsample_rates": [8, 8, 4, 2]}, r"upsample_rates \(hop\) is 512 but this entry's is 256"),
])
def test_bigvgan_config_of_another_front_end_is_refused(tmp_path, change, message):
    path = release(tmp_path, "bigvgan_generator.pt", "config.json", BIGVGAN | change)
    with pytest.raises(CheckpointError, match=message):
        configured_spec(get_spec("bigvgan-base-22k"), path)


def vocos_config(**backbone) -> dict:
    return {"feature_extractor": {"class_path": "vocos.feature_extractors.MelSpectrogramFeatures",
                                  "init_args": {"sample_rate": 24000, "n_fft": 1024,
                                                "hop_length": 256, "n_mels": 100,
                                                "padding": "center"}},
            "backbone": {"class_path": "vocos.models.VocosBackbone",
                         "init_args": {"input_channels": 100, "dim": 64, "intermediate_dim": 96,
                                       "num_layers": 3} | backbone},
            "head": {"class_path": "vocos.heads.ISTFTHead",
                     "init_args": {"dim": 64, "n_fft": 1024, "hop_length": 256,
                                   "padding": "center"}}}


def test_vocos_builds_its_config_yaml_and_refuses_other_models(tmp_path):
    path = release(tmp_path, "pytorch_model.bin", "config.yaml", vocos_config())
    config = configured_spec(get_spec("vocos-mel-24k"), path).config
    assert (config.dim, config.intermediate_dim, config.num_layers) == (64, 96, 3)
    encodec = vocos_config(adanorm_num_embeddings=4)
    encodec["feature_extractor"]["class_path"] = "vocos.feature_extractors.EncodecFeatures"
    path = release(tmp_path, "pytorch_model.bin", "config.yaml", encodec)
    with pytest.raises(CheckpointError, match=r"feature_extractor.class_path is "
                       r"'vocos.feature_extractors.EncodecFeatures' but this entry's is "
                       r"'vocos.feature_extractors.MelSpectrogramFeatures'"):
        configured_spec(get_spec("vocos-mel-24k"), path)
    other = vocos_config()
    other["feature_extractor"]["init_args"]["n_mels"] = 80
    path = release(tmp_path, "pytorch_model.bin", "config.yaml", other)
    with pytest.raises(CheckpointError, match=r"feature_extractor.n_mels is 80 but this "
                       r"entry's is 100"):
        configured_spec(get_spec("vocos-mel-24k"), path)


def test_istftnet_builds_the_config_json_beside_its_g_file(tmp_path):
    h = {"upsample_rates": [8, 8], "upsample_kernel_sizes": [16, 16],
         "upsample_initial_channel": 64, "resblock": "1", "resblock_kernel_sizes": [3, 7, 11],
         "resblock_dilation_sizes": [[1, 3, 5]] * 3, "gen_istft_n_fft": 16,
         "gen_istft_hop_size": 4, "num_mels": 80, "n_fft": 1024, "hop_size": 256,
         "win_size": 1024, "sampling_rate": 22050, "fmin": 0, "fmax": 8000}
    path = release(tmp_path, "g_00100000", "config.json", h)
    assert configured_spec(get_spec("istftnet"), path).config.upsample_initial_channel == 64
    path = release(tmp_path, "g_00100000", "config.json", h | {"gen_istft_hop_size": 8})
    with pytest.raises(CheckpointError, match=r"gen_istft_hop_size \(hop\) is 512 but this "
                       r"entry's is 256"):
        configured_spec(get_spec("istftnet"), path)


def test_wavenet_hparams_of_a_speaker_model_or_another_mel_are_refused(tmp_path):
    stem = "20180212_mixture_multispeaker_cmu_arctic_checkpoint_step000740000_ema"
    path = release(tmp_path, f"{stem}.pth", f"{stem}.json", {"gin_channels": 16})
    with pytest.raises(CheckpointError, match=r"gin_channels is 16 but this entry's is -1"):
        configured_spec(get_spec("wavenet-mol"), path)
    path = release(tmp_path, f"{stem}.pth", f"{stem}.json", {"sample_rate": 16000})
    with pytest.raises(CheckpointError, match=r"sample_rate is 16000 but this entry's is 22050"):
        configured_spec(get_spec("wavenet-mol"), path)
    path = release(tmp_path, f"{stem}.pth", f"{stem}.json", {"input_type": "mulaw-quantize"})
    with pytest.raises(CheckpointError, match=r"input_type is 'mulaw-quantize' but this "
                       r"entry's is 'raw'"):
        configured_spec(get_spec("wavenet-mol"), path)


def waveglow_state(config: dict) -> dict:
    """Zero tensors of the official keys and shapes (the loader reads the shapes only)."""
    from torch import nn
    from torch.nn.utils import weight_norm

    n_mel, group = config["n_mel_channels"], config["n_group"]
    c, layers = config["WN_config"]["n_channels"], config["WN_config"]["n_layers"]
    state: dict = {"upsample.weight": torch.zeros(n_mel, n_mel, 1024),
                   "upsample.bias": torch.zeros(n_mel)}
    remaining = group
    for k in range(config["n_flows"]):
        if k % config["n_early_every"] == 0 and k > 0:
            remaining -= config["n_early_size"]
        state[f"convinv.{k}.conv.weight"] = torch.eye(remaining).unsqueeze(-1)
        wn = {"start": nn.Conv1d(remaining // 2, c, 1), "end": nn.Conv1d(c, remaining, 1),
              "cond_layer": nn.Conv1d(n_mel * group, 2 * c * layers, 1)}
        for i in range(layers):
            wn[f"in_layers.{i}"] = nn.Conv1d(c, 2 * c, 3)
            wn[f"res_skip_layers.{i}"] = nn.Conv1d(c, 2 * c if i < layers - 1 else c, 1)
        for name, conv in wn.items():
            conv = conv if name == "end" else weight_norm(conv)
            state |= {f"WN.{k}.{name}.{key}": v for key, v in conv.state_dict().items()}
    return state


WAVEGLOW = {"n_mel_channels": 80, "n_flows": 6, "n_group": 12, "n_early_every": 3,
            "n_early_size": 4, "WN_config": {"n_layers": 3, "n_channels": 8, "kernel_size": 3}}


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_waveglow_architecture_is_read_from_the_pickled_model(tmp_path):
    path = write_waveglow(tmp_path / "waveglow.pt", waveglow_state(WAVEGLOW), WAVEGLOW)
    config = configured_spec(get_spec("waveglow"), path).config
    assert (config.n_flows, config.n_group, config.n_early_every, config.n_early_size,
            config.wn_layers, config.wn_channels) == (6, 12, 3, 4, 3, 8)
    path = write_waveglow(tmp_path / "100.pt", waveglow_state(WAVEGLOW | {
        "n_mel_channels": 100}), WAVEGLOW | {"n_mel_channels": 100})
    with pytest.raises(CheckpointError, match=r"n_mel_channels is 100 but this entry's is 80"):
        configured_spec(get_spec("waveglow"), path)
