"""What a reader must know before trusting the decision, in one sentence generated from the data.

How many utterances and speakers, real or synthetic speech, measured or estimated energy (which
counter, or which constants) on what hardware, and whether quality is a human rating or a
metric standing in for one. Speakers and synthetic clips are read from the run's recorded
corpus selection (``utterances``, when the benchmark recorded them), else from the id
conventions of the corpora greenvoc reads: the built-in ``default`` (its ARCTIC and espeak-ng
clip ids), ``ljspeech`` (one speaker), ``vctk`` and ``libritts`` (``<speaker>_...`` ids).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from greenvoc.analysis.aggregate import Point
from greenvoc.analysis.objectives import HUMAN_OBJECTIVES, Objective

#: Below this many utterances a figure says its intervals are provisional.
SMALL_N = 5

#: energy_method token → what it is, in words.
METHOD_WORDS = {
    "rapl": "RAPL counters",
    "nvml": "the NVML energy counter",
    "nvml-instant": "NVML power × duration",
    "estimate": "the estimate",
}


#: energy_method tokens that name a hardware counter (the rest are estimates).
COUNTER_TOKENS = frozenset({"rapl", "nvml", "nvml-instant"})


@dataclass(frozen=True)
class CorpusFacts:
    """n_utterances: distinct utterances of the ranked rows. speakers / synthetic: None when
    the run does not say."""

    name: str
    n_utterances: int
    speakers: tuple[str, ...] | None
    n_synthetic: int | None

    @property
    def n_real(self) -> int | None:
        return None if self.n_synthetic is None else self.n_utterances - self.n_synthetic

    def phrase(self) -> str:
        """``5 utterances of 4 speakers (2 real recordings, 3 synthetic espeak-ng clips)``."""
        n = self.n_utterances
        words = f"{n} utterance{'s' if n != 1 else ''}"
        if self.speakers is not None:
            k = len(self.speakers)
            words += f" of {k} speaker{'s' if k != 1 else ''}"
        if self.n_synthetic is None:
            unknown = "speakers, real or synthetic" if self.speakers is None \
                else "real or synthetic"
            return f"{words} of the {self.name} corpus ({unknown}: not recorded)"
        if self.n_synthetic == 0:
            kind = "all real recordings"
        elif self.n_synthetic == n:
            kind = "all synthetic speech"
        else:
            kind = f"{self.n_real} real recording{'s' if self.n_real != 1 else ''}, " \
                   f"{self.n_synthetic} synthetic"
        return f"{words} ({kind}) of the {self.name} corpus"


def _known_utterances(name: str, ids: Sequence[str]) -> dict[str, tuple[str, bool]]:
    """id → (speaker, synthetic) from a corpus's id conventions; empty when unknown."""
    if name == "default":
        from greenvoc.audio.default import ARCTIC_CLIPS, ESPEAK_CLIPS

        table = {f"{spk}_{prompt}": (spk, False) for _, _, prompt, spk in ARCTIC_CLIPS}
        table |= {uid: (f"espeak-ng:{voice}", True) for uid, voice, _ in ESPEAK_CLIPS}
        return {u: table[u] for u in ids if u in table}
    if name == "ljspeech":
        return {u: ("LJ", False) for u in ids}
    if name in ("vctk", "libritts"):
        return {u: (u.split("_", 1)[0], False) for u in ids if "_" in u}
    return {}


def corpus_facts(info: Mapping, utterances: Iterable[str]) -> CorpusFacts:
    """Facts about the ``utterances`` (ids) a run's ranking rests on."""
    selection = (info.get("config") or {}).get("corpus_selection") or {}
    name = str(selection.get("name") or (info.get("config") or {}).get("corpus") or "unknown")
    ids = sorted(set(map(str, utterances)))
    recorded = {str(u.get("id")): (u.get("speaker"), u.get("synthetic"))
                for u in selection.get("utterances") or [] if isinstance(u, Mapping)}
    known = {u: recorded[u] for u in ids if u in recorded} or _known_utterances(name, ids)
    if ids and len(known) == len(ids):
        speakers = tuple(sorted({str(s) for s, _ in known.values() if s}))
        synthetic = [bool(x) for _, x in known.values() if x is not None]
        n_syn = sum(synthetic) if len(synthetic) == len(ids) else None
        return CorpusFacts(name, len(ids), speakers or None, n_syn)
    return CorpusFacts(name, len(ids), None, None)


def estimate_constants(info: Mapping) -> str:
    """The constants of the process-mode estimate as the run's recorded CPU gets them."""
    from greenvoc.energy.estimate import RAM_W_PER_GB
    from greenvoc.energy.tdp import DEFAULT_W_PER_CORE, CpuInfo, lookup_tdp

    hw = info.get("hardware") or {}
    cpu = str(hw.get("cpu_model") or "")
    entry = lookup_tdp(cpu) if cpu else None
    if entry is not None:
        cpu_w = (f"{entry.tdp_w / entry.threads:.3g} W per busy CPU thread ({entry.model}: TDP "
                 f"{entry.tdp_w:g} W / {entry.threads} threads)")
    else:
        logical, physical = hw.get("logical_cpus"), hw.get("physical_cores")
        # the estimator's own rule (CpuInfo.threads_per_core), so the sentence states its value
        per_core = (CpuInfo(cpu, int(logical), int(physical), 1).threads_per_core
                    if logical and physical else 1)
        cpu_w = (f"{DEFAULT_W_PER_CORE / per_core:.3g} W per busy CPU thread ("
                 f"{cpu or 'CPU'} not in the TDP table: {DEFAULT_W_PER_CORE:g} W per core / "
                 f"{per_core} thread{'s' if per_core != 1 else ''} per core)")
    return f"{cpu_w} + {RAM_W_PER_GB:g} W/GB of RAM in use"


def _methods(points: Sequence[Point]) -> tuple[set[str], set[str]]:
    kinds = {p.energy_kind for p in points} - {"none"}
    tokens = {t for p in points for m in p.energy_methods for t in m.split("+")}
    return kinds, tokens


def energy_short(points: Sequence[Point]) -> str:
    """For an axis label or a column header: ``estimated (TDP × CPU time)``,
    ``measured (RAPL)``, ``MIXED measured/estimated``."""
    kinds, tokens = _methods(points)
    counters = sorted(t.upper() if t == "rapl" else t.replace("nvml", "NVML")
                      for t in tokens & COUNTER_TOKENS)
    if kinds == {"measured"}:
        return f"measured ({', '.join(counters) or 'counter'})"
    if kinds == {"estimated"}:
        extra = f" with {', '.join(counters)} gaps" if counters else ""
        return f"estimated (TDP × CPU time{extra})"
    if not kinds:
        return "no energy figure"
    return "MIXED measured/estimated"


def energy_phrase(points: Sequence[Point], info: Mapping, where: str) -> str:
    """``energy estimated, not measured (8.33 W per busy CPU thread ...) on <where>``."""
    kinds, tokens = _methods(points)
    counters = [METHOD_WORDS[t] for t in sorted(tokens & COUNTER_TOKENS)]
    if kinds == {"measured"}:
        return f"energy measured by {' and '.join(counters) or 'hardware counters'} on {where}"
    if kinds == {"estimated"}:
        return (f"energy estimated, not measured (no hardware counter: "
                f"{estimate_constants(info)}) on {where}")
    if not kinds:
        return "no energy figure"
    return (f"energy MIXED: some models measured ({', '.join(counters) or 'counters'}), "
            f"others estimated ({estimate_constants(info)}) on {where}; compare with care")


def hardware_phrase(info: Mapping, classes: Sequence[str] = ()) -> str:
    """The hardware classes the rows record (``cpu:<model> x<sockets>``, ``gpu:<name>``),
    else the run's recorded CPU and its logical CPUs."""
    if classes:
        return " and ".join(classes)
    hw = info.get("hardware") or {}
    cpu = hw.get("cpu_model") or "an unrecorded CPU"
    n = hw.get("logical_cpus")
    return f"{cpu}" + (f" ({n} logical CPUs)" if n else "")


def quality_phrase(quality: Objective) -> str:
    if quality.name in HUMAN_OBJECTIVES:
        return f"quality is {quality.label}, rated by listeners"
    return (f"quality is {quality.name}, a metric standing in for listeners (a proxy: check "
            "the ranking with `greenvoc listen`)")


def caveat_sentence(info: Mapping, facts: CorpusFacts, points: Sequence[Point],
                    quality: Objective, hardware: Sequence[str] = ()) -> str:
    """One sentence: sample, speech, energy provenance and hardware, quality."""
    energy = energy_phrase(points, info, hardware_phrase(info, hardware))
    small = (f"; with n = {facts.n_utterances} < {SMALL_N} utterances the intervals are wide "
             "and the ranking provisional") if facts.n_utterances < SMALL_N else ""
    return f"Caveats: {facts.phrase()}; {energy}; {quality_phrase(quality)}{small}."
