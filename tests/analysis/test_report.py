"""The HTML report renders from constructed rows: every model named, PNGs exist and are inlined."""

from __future__ import annotations

import base64
import re

from greenvoc.analysis.report import render_report

from .conftest import RUN_INFO, UTTERANCES, make_row, zoo_rows


def test_report_renders(tmp_path):
    rows = zoo_rows()
    report = render_report(RUN_INFO, rows, tmp_path / "out", country="FR", pue=1.2,
                           n_resamples=50)
    text = report.html.read_text()
    for model in {r["model"] for r in rows}:
        assert model in text
    assert len(report.figures) == 3
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(embedded) == 3
    for path, data in zip(report.figures, embedded, strict=True):
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert base64.b64decode(data) == path.read_bytes()
    # no CDN: every script is inline (no src), no stylesheet is linked
    assert "<script src" not in text and "<link" not in text
    assert "Test CPU <script>" not in text and "&lt;script&gt;" in text  # run info escaped
    assert "abc123" in text and "E_i = min" in text
    assert "kg CO2eq" in text and "France" in text and "PUE 1.2" in text
    assert "measured" in text and '<div class="warn">Warning' not in text
    assert report.csv.is_file()
    # 1,000 h at 12 J/s: 12 kWh
    proj = {(p.model, p.variant): p for p in report.projections}
    assert abs(proj[("hifigan_v1", "fp32")].energy_kwh - 12.0) < 0.5


def test_report_warns_when_energy_mixes_measured_and_estimated(tmp_path):
    rows = [make_row("a", "fp32", "x", u, 3.0, 5.0) for u in UTTERANCES] + [
        make_row("b<i>", "fp32", "y", u, 3.2, 2.0, measured=False) for u in UTTERANCES]
    report = render_report({}, rows, tmp_path, n_resamples=20, embed=False)
    text = report.html.read_text()
    assert '<div class="warn">Warning' in text and "mix measured and estimated" in text
    page = re.sub(r"<script>.*?</script>", "", text, flags=re.S)  # plotly.min.js has "<i>"
    assert "b&lt;i&gt;" in page and "<i>" not in page
    assert "MIXED measured and estimated" in text
    for path in report.figures:  # linked relatively, beside the HTML
        assert f'src="{path.name}"' in text and path.parent == report.html.parent
