"""A ``Vocoder`` around a ``torch.nn.Module`` generator: eval mode, inference mode, checks."""

from __future__ import annotations

import torch

from greenvoc.vocoders.base import Vocoder, VocoderSpec


class TorchVocoder(Vocoder):
    """module.forward(mel: (B, n_mels, T)) → (B, T·hop) or (B, 1, T·hop)."""

    def __init__(self, spec: VocoderSpec, module: torch.nn.Module, has_weights: bool) -> None:
        super().__init__(spec, has_weights)
        self.module = module.eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @property
    def device(self) -> torch.device:
        for tensor in (*self.module.parameters(), *self.module.buffers()):
            return tensor.device  # buffers too: DSP modules (Griffin-Lim) have no parameters
        return torch.device("cpu")

    def to(self, device: str | torch.device) -> TorchVocoder:
        self.module.to(device)
        return self

    def params(self) -> int:
        return sum(p.numel() for p in self.module.parameters())

    def synthesize(self, mel: torch.Tensor) -> torch.Tensor:
        batched = mel.dim() == 3
        mel = self.check_mel(mel).to(self.device, torch.float32)
        with torch.inference_mode():
            audio = self.module(mel)
        audio = audio.reshape(mel.shape[0], -1).float()
        self.check_output(self.name, audio)
        return audio if batched else audio[0]
