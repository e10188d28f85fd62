"""A tiny benchmark run made through the real store functions, over real speech.

The corpus: 0.5 s pieces of the CMU ARCTIC clip that pysptk ships (16 kHz). The "models": the
piece resampled to 22.05 kHz and degraded in known ways, written where ``greenvoc bench`` writes
audio (``<out>/run<ID>/<model>/<variant>/<utterance>.wav``) and recorded as result rows.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from greenvoc.audio.io import load_audio, save_audio
from greenvoc.listen import stimuli as sx
from greenvoc.listen.build import create_study
from greenvoc.listen.study import Study
from greenvoc.store import ResultStore
from greenvoc.store.results import add_result, get_or_create_run
from greenvoc.testing.system import require_program

RATE = 22050


def arctic() -> np.ndarray:
    root = Path(next(iter(importlib.util.find_spec("pysptk").submodule_search_locations)))
    return load_audio(root / "example_audio_data" / "arctic_a0007.wav").samples


def degrade(x: np.ndarray, model: str, seed: int) -> np.ndarray:
    if model.startswith("lp"):
        return sx.lowpass(x, RATE, 1000.0 * int(model[2:].removesuffix("k")))
    if model == "noisy":
        return sx.noisy(x, 10.0, seed)
    return x


def make_run(tmp: Path, models: tuple[str, ...] = ("clean", "lp4k", "noisy"), n_utts: int = 3,
             dur_s: float = 0.5) -> tuple[ResultStore, int, Path]:
    """(store, run id, bench audio folder) of a run of ``models`` × ``n_utts`` utterances."""
    corpus, out = tmp / "corpus", tmp / "bench-audio"
    wave = arctic()
    n = int(dur_s * 16000)
    for i in range(n_utts):
        start = 4000 + (i * 7919) % (len(wave) - n - 4000)
        save_audio(corpus / f"utt{i:02d}.wav", wave[start:start + n], 16000)
    store = ResultStore(f"sqlite:///{tmp / 'db' / 'greenvoc.db'}")
    run_id, _ = get_or_create_run(store, {"corpus": str(corpus), "models": list(models)}, 0, {})
    for i in range(n_utts):
        ref = load_audio(corpus / f"utt{i:02d}.wav", sample_rate=RATE).samples
        for model in models:
            path = out / f"run{run_id}" / model / "fp32" / f"utt{i:02d}.wav"
            save_audio(path, degrade(ref, model, i), RATE)
            add_result(store, run_id, model=model, variant="fp32", utterance=f"utt{i:02d}",
                       family="test", has_weights=True, audio_path=str(path))
    return store, run_id, out


def make_study(tmp: Path, test_type: str = "acr", **kwargs) -> tuple[Study, ResultStore]:
    """A study over :func:`make_run` (``kwargs``: create_study options, plus ``run_models``,
    ``n_utts`` and ``dur_s`` of the run)."""
    if test_type == "acr" and kwargs.get("trap", True):
        require_program("espeak-ng")  # the trapping clips are spoken by espeak-ng
    run_kw = {k: kwargs.pop(k) for k in ("n_utts", "dur_s") if k in kwargs}
    if "run_models" in kwargs:
        run_kw["models"] = kwargs.pop("run_models")
    store, run_id, _ = make_run(tmp, **run_kw)
    study = create_study(store, tmp / "study" / "study.yaml", test_type, run=run_id, **kwargs)
    return study, store


class Rater:
    """One rater walking the API with an httpx-compatible client (TestClient or httpx)."""

    def __init__(self, client, study: Study, token: str | None = None) -> None:
        self.client, self.study, self.token = client, study, token

    @property
    def headers(self) -> dict:
        return {"X-Rater-Token": self.token}

    def register(self) -> Rater:
        r = self.client.post("/api/register", json={"consent": True})
        assert r.status_code == 201, r.text
        self.token = r.json()["token"]
        return self

    def session(self) -> dict:
        r = self.client.get("/api/session", headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def play(self, stimulus: str, event: str = "ended") -> int:
        return self.client.post("/api/play", json={"stimulus": stimulus, "event": event},
                                headers=self.headers).status_code

    def check_answers(self, wrong: int = 0) -> dict:
        """Play the check's sounds and return a check body whose first ``wrong`` headphone
        answers are wrong (the answers come from the study file, which the browser never
        sees)."""
        state = self.session()
        if state["stage"] == "instructions":
            assert self.client.post("/api/stage", json={"stage": "check"},
                                    headers=self.headers).status_code == 200
            state = self.session()
        check = state["check"]
        for s in (check["calibration"], *check["trials"]):
            assert self.play(s) == 204
        answer = {t.id: t.answer for t in self.study.headphone}
        answers = [answer[t] % 3 + 1 if j < wrong else answer[t]
                   for j, t in enumerate(check["trials"])]
        return {"headphones": True, "quiet": True, "beeps": self.study.check_beeps,
                "answers": answers}

    def pass_check(self) -> dict:
        r = self.client.post("/api/check", headers=self.headers, json=self.check_answers())
        assert r.status_code == 200 and r.json()["passed"] is True, r.text
        return self.session()

    def body(self, page: dict, score: float) -> dict:
        if self.study.test_type == "ab":
            return {"item": page["item"], "choice": page["stimuli"][0]}
        return {"item": page["item"], "scores": {s: score for s in page["stimuli"]}}

    def rate(self, page: dict, score: float, play: bool = True):
        if play:
            for s in (*page["stimuli"], *((page["reference"],) if page["reference"] else ())):
                assert self.play(s) == 204
        return self.client.post("/api/ratings", json=self.body(page, score),
                                headers=self.headers)

    def complete(self, score: float = 4) -> dict:
        """Register (if needed), pass the check, rate every page; returns the final state."""
        if self.token is None:
            self.register()
        state = self.session()
        if state["stage"] == "instructions":
            state = self.pass_check()
        while state["page"] is not None:
            r = self.rate(state["page"], score)
            assert r.status_code == 200, r.text
            state = r.json()
        return state


def load_benchmark():
    """``benchmarks/listen_load.py`` as a module: its ``Server`` (create_app under uvicorn in a
    subprocess) and ``run_load`` are what the load and browser tests run."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "listen_load.py"
    spec = importlib.util.spec_from_file_location("listen_load", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["listen_load"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
