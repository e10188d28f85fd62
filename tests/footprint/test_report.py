"""The report sections: a real PNG embedded as a data URI, and the published-models table."""

from __future__ import annotations

import base64
import re

from greenvoc.footprint.report import published_section_html, survey_section_html


def test_survey_section_embeds_the_chart(tmp_path):
    html = survey_section_html(tmp_path)
    assert "<h2>What papers report</h2>" in html
    data = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)
    assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "survey_shares.png").stat().st_size > 1000
    assert "Studies that measure energy" in html
    assert "https://arxiv.org/abs/2107.02621" in html and "https://arxiv.org/abs/2505.07615" in html


def test_published_section_lists_models_with_sources():
    html = published_section_html(country="FR")
    assert "Parallel WaveGAN" in html and "https://arxiv.org/abs/1910.11480" in html
    assert "not reported" in html
