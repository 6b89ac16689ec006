"""The run page is self-contained: images embedded, no external resource, Markdown converted."""
from __future__ import annotations

import base64
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from reports.html import markdown_to_html, render_page, write_page  # noqa: E402

MD = """### synthetic — loso

| Metric | Prior | A<B |
|---|:---:|:---:|
| KL ↓ | 0.0629 (2) | **0.0505 (1)**† |

Values: *mean* over blocks.
- note one
- note two
"""


def figure(path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    fig.savefig(path.with_suffix(".png"))
    fig.savefig(path.with_suffix(".pdf"))
    plt.close(fig)
    return [path.with_suffix(".png"), path.with_suffix(".pdf")]


def test_markdown_subset():
    out = markdown_to_html(MD)
    assert "<h3>synthetic — loso</h3>" in out
    assert out.count("<tr>") == 2 and "<th>A&lt;B</th>" in out and "---" not in out
    assert "<td><strong>0.0505 (1)</strong>†</td>" in out
    assert "<em>mean</em>" in out and out.count("<li>") == 2


def test_page_is_self_contained(tmp_path):
    paths = figure(tmp_path / "fig") + figure(tmp_path / "other")
    page = write_page(tmp_path / "report.html", "run <x>", [MD, "## Costs\n\ntext"], paths)
    text = page.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"<(script|link|iframe)\b", text)
    srcs = re.findall(r'<img src="([^"]+)"', text)
    assert len(srcs) == 2  # a PNG and its PDF twin shown once
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert base64.b64decode(srcs[0].split(",", 1)[1]) == paths[0].read_bytes()
    assert "<title>run &lt;x&gt;</title>" in text and "<h2>Costs</h2>" in text


def test_captions_from_dict(tmp_path):
    paths = figure(tmp_path / "f")
    text = render_page("t", [], {"KL critical difference": paths[1]})
    assert "<figcaption>KL critical difference</figcaption>" in text and "data:image/png" in text
