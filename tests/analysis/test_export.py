"""Paper tables (--latex, --markdown), human units, the caveats sentence and the listening-test
section: real rows, checked by structure (LaTeX checked by a LaTeX-free parser)."""

from __future__ import annotations

import re

import pytest

from greenvoc.analysis import units
from greenvoc.analysis.caveats import caveat_sentence, corpus_facts
from greenvoc.analysis.export import latex_escape, paper_table, to_latex, to_markdown
from greenvoc.analysis.human import human_section, study_summaries
from greenvoc.analysis.objectives import get_objective
from greenvoc.analysis.study import analyze
from greenvoc.listen.records import RatingRecord

from .conftest import RUN_INFO, UTTERANCES, make_row, zoo_rows

#: Characters LaTeX treats specially: never bare in text cells.
SPECIALS = set("&%$#_{}~^\\")


def check_latex_table(tex: str) -> list[list[str]]:
    """A structural check of a ``table``/``tabular`` without LaTeX: environments nest and
    close, braces balance (escaped ones aside), math shifts pair up, every row has as many
    cells as the column spec and ends in ``\\\\``, only ASCII. Returns the rows' cells."""
    assert tex.isascii(), "non-ASCII characters need an inputenc/fontenc setup"
    body = re.sub(r"(?<!\\)%.*", "", tex)  # comments
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+)\}", body):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} closes nothing"
    assert not stack, f"unclosed environments {stack}"
    depth = 0
    for ch in re.sub(r"\\[{}$&%#_]", "", body):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, "a } closes nothing"
    assert depth == 0, "unbalanced braces"
    assert len(re.findall(r"(?<!\\)\$", body)) % 2 == 0, "unpaired $"
    spec = re.search(r"\\begin\{tabular\}\{([lrc|]+)\}", body).group(1).replace("|", "")
    inner = body.split(re.search(r"\\begin\{tabular\}\{[lrc|]+\}", body).group(0))[1]
    inner = inner.split(r"\end{tabular}")[0].replace(r"\hline", "")
    rows = [r.strip() for r in inner.split(r"\\") if r.strip()]
    cells = []
    for row in rows:
        parts = re.split(r"(?<!\\)&", row)
        assert len(parts) == len(spec), f"{len(parts)} cells for {len(spec)} columns: {row}"
        for cell in parts:
            bare = re.sub(r"\\[a-zA-Z]+(\{\})?|\\[{}$&%#_]|\$[^$]*\$", "", cell)
            assert not (set(bare) & SPECIALS), f"unescaped special in {cell!r}"
        cells.append([c.strip() for c in parts])
    return cells


def test_latex_table_has_every_model_and_compiles_structurally():
    rows = zoo_rows() + [make_row("odd_name&50%", "int8", "x#y", u, 3.1, 7.0, measured=False)
                         for u in UTTERANCES]
    a = analyze(rows, n_resamples=20)
    table = paper_table(a, {("vocos", "fp32"): "cpu:AMD EPYC_7B13 x1"}, run=4)
    tex = to_latex(table)
    cells = check_latex_table(tex)
    assert len(cells) == 1 + len(a.points)  # header + one row per model
    by_model = {c[0]: c for c in cells[1:]}
    assert r"odd\_name\&50\%" in by_model
    assert by_model["vocos"][7] == r"cpu:AMD EPYC\_7B13 x1"
    # mixed energy: said once in the header, estimated rows marked
    assert "MIXED" in cells[0][3] and by_model[r"odd\_name\&50\%"][3].endswith(r"\dag{}")
    assert r"$\pm$" in by_model["vocos"][2] and "[" in by_model["vocos"][3]
    assert "no weights" in by_model["wavenet"][2]
    assert r"\caption{" in tex and "run 4" in tex


def test_markdown_table_is_a_pipe_table():
    a = analyze(zoo_rows(), n_resamples=20)
    md = to_markdown(paper_table(a))
    lines = md.splitlines()
    n = lines[0].count(" | ") + 1
    assert n == 8 and all(line.count(" | ") + 1 == n for line in lines[1:len(a.points) + 2])
    assert "measured (RAPL)" in lines[0] and "1.20 M" in md and "MB" in md


def test_latex_escape_of_symbols():
    assert latex_escape("a_b ± 3 × 2 – 1 ↑") == r"a\_b $\pm$ 3 $\times$ 2 -- 1 $\uparrow$"


@pytest.mark.parametrize(("value", "unit", "text"), [
    (13_900_000, "", "13.9 M"), (55_800_000, "B", "55.8 MB"), (2.64e10, "MAC/s", "26.4 GMAC/s"),
    (812_000, "B", "812 kB"), (3.0, "", "3.00"), (0.0203, "", "0.0203"), (None, "", "—"),
    (float("nan"), "B", "—")])
def test_human_units(value, unit, text):
    assert units.si(value, unit) == text


def test_caveats_of_the_default_corpus_say_what_is_real_and_estimated():
    info = {"config": {"corpus_selection": {"name": "default"}},
            "hardware": {"cpu_model": "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz",
                         "logical_cpus": 2}}
    ids = ["awb_arctic_a0007", "slt_arctic_a0009", "espeak_en-us_short",
           "espeak_en-gb_medium", "espeak_en-us_long"]
    facts = corpus_facts(info, ids)
    assert facts.phrase() == ("5 utterances of 4 speakers (2 real recordings, 3 synthetic) "
                              "of the default corpus")
    rows = [make_row("m", "fp32", "f", u, 3.0, 2.0, measured=False, energy_method="estimate")
            for u in ids]
    a = analyze(rows, n_resamples=10)
    text = caveat_sentence(info, facts, a.points, a.quality)
    assert "energy estimated, not measured" in text and "W/GB of RAM" in text
    assert "Platinum 8370C" in text and "a proxy" in text and "provisional" not in text
    two = corpus_facts(info, ids[:2])
    assert "with n = 2 < 5 utterances" in caveat_sentence(info, two, a.points, a.quality)
    human = caveat_sentence(info, two, a.points, get_objective("human_mos"))
    assert "rated by listeners" in human and "proxy" not in human
    unknown = corpus_facts({"config": {"corpus": "/data/wavs"}}, ["x1", "x2"])
    assert unknown.speakers is None and "not recorded" in unknown.phrase()


def test_human_mos_section_names_the_study_raters_and_ratings_per_condition():
    recs = []
    for rater, delta in (("r1", 0), ("r2", 0), ("r3", 0)):
        for utt in UTTERANCES[:3]:
            recs.append(RatingRecord("study-7", rater, "acr", f"v:{utt}", "vocos/fp32", "vocos",
                                     "fp32", utt, 4.0 + delta))
        # r3 fails the gold clip (the clean reference rated 2, expected 5 ± 1)
        recs.append(RatingRecord("study-7", rater, "acr", "gold", "reference", None, None,
                                 "g", 2.0 if rater == "r3" else 5.0, kind="gold"))
    (s,) = study_summaries(recs, "acr")
    assert s.raters_kept == ("r1", "r2") and s.raters_excluded == ("r3",)
    assert s.exclusion_reasons == (("gold", 1),)
    (cond,) = s.conditions
    assert (cond.condition, cond.ratings, cond.clips, cond.raters) == ("vocos/fp32", 6, 3, 2)
    html = human_section("human_mos", [s])
    assert "Study study-7 (ACR (ITU-T P.808)): 3 raters, 2 kept, 1 excluded (gold 1)" in html
    assert "6 ratings kept" in html


def test_report_on_a_human_quality_names_its_studies(tmp_path):
    from greenvoc.analysis.report import render_report
    from greenvoc.listen.human_mos import attach_human_mos

    recs = [RatingRecord("s1", r, "acr", f"{m}:{u}", f"{m}/fp32", m, "fp32", u, q + d)
            for m, q in (("vocos", 4.4), ("hifigan_v3", 3.0)) for u in UTTERANCES[:4]
            for r, d in (("r1", -0.5), ("r2", 0.5))]
    rows = attach_human_mos(zoo_rows(), recs)
    report = render_report(RUN_INFO, rows, tmp_path, quality="human_mos", n_resamples=20,
                           human_studies=study_summaries(recs, "acr"))
    html = report.html.read_text()
    assert "Listening tests behind human_mos" in html and "Study s1" in html
    assert "2 raters, 2 kept, 0 excluded" in html and "rated by listeners" in html
