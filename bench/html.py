"""``report.html``: one static page with the run's ranked tables and figures (relative links only).

The page opens with the headline table of each dataset, then its figures; the full tables (every
metric) follow at the end, each in its own horizontally scrolling box, so the page itself never scrolls
sideways. A few lines of inline JavaScript, once loaded, count images that failed to load
(``<body data-broken-images="N">``) and record whether the page scrolls horizontally
(``data-hscroll``); the browser test reads them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from bench.rundir import atomic_write_text

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1360px}
table{border-collapse:collapse;font-size:12.5px;margin:0.6em 0}
th,td{border:1px solid #ccc;padding:2px 5px;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left}
th{background:#f3f3f3;position:sticky;top:0} img{max-width:100%;border:1px solid #eee}
.meta{color:#555;font-size:13px} .wide{overflow-x:auto;max-width:100%}
.full td,.full th{text-align:left}
"""

_CHECK_JS = """
window.addEventListener('load', function () {
  var bad = 0, imgs = document.images;
  for (var i = 0; i < imgs.length; i++) { if (!imgs[i].complete || imgs[i].naturalWidth === 0) bad++; }
  document.body.setAttribute('data-broken-images', String(bad));
  document.body.setAttribute('data-images', String(imgs.length));
  var el = document.scrollingElement || document.documentElement;
  document.body.setAttribute('data-hscroll', String(el.scrollWidth > el.clientWidth));
});
"""


def _table_html(frame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for r in frame.itertuples(index=False):
        cells = []
        for v in r:
            text = html.escape(str(v))
            if "**" in text:
                a = text.index("**")
                end = text.index("**", a + 2)
                text = f"{text[:a]}<b>{text[a + 2 : end]}</b>{text[end + 2 :]}"
            cells.append(f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def write_html(
    run_dir: str | Path, report_dir: str | Path, figures: list, summaries: list | None = None
) -> Path:
    """Write ``<report_dir>/report.html`` from the run's results and the drawn figures."""
    from bench.report import (
        HEADLINE_LEGEND,
        LEGEND,
        TIED_MARK,
        failure_notes,
        headline_frame,
        summarize,
        table_frame,
    )
    from bench.rundir import read_results

    run_dir, report_dir = Path(run_dir), Path(report_dir)
    if summaries is None:
        summaries = summarize(read_results(run_dir))
    meta = {}
    if (run_dir / "run.json").is_file():
        meta = json.loads((run_dir / "run.json").read_text())
    parts = [f"<h1>mfif-bench report: {html.escape(run_dir.name)}</h1>"]
    if meta:
        c = meta.get("counts", {})
        parts.append(
            "<p class='meta'>"
            + html.escape(
                f"commit {meta.get('git_commit', '')[:10]} · device {meta.get('device', '')} · "
                f"cpu {meta.get('cpu', '')} · started {meta.get('started', '')} · "
                f"computed {c.get('computed', '?')}, cached {c.get('cached', '?')} · "
                f"fusion errors {sum(int(x.methods['fusion_errors'].sum()) for x in summaries)}, "
                f"metric errors {sum(int(x.methods['metric_errors'].sum()) for x in summaries)}, "
                f"NaN values {sum(int(x.methods['nan_values'].sum()) for x in summaries)}, "
                f"(metric errors computed now {c.get('score_errors', '?')}, fusion errors from the cache "
                f"{c.get('fuse_errors_cached', '?')}) · "
                f"protocol {meta.get('config', {}).get('protocol', '')}"
            )
            + "</p>"
        )
    parts.append("<p class='meta'>" + html.escape(HEADLINE_LEGEND.format(mark=TIED_MARK)) + "</p>")
    for s in summaries:
        anchor = html.escape(s.dataset)
        parts.append(f"<h2 id='{anchor}'>{html.escape(s.dataset)} ({s.n_scenes} scenes): headline</h2>")
        parts.append(f"<div class='wide'>{_table_html(headline_frame(s))}</div>")
        notes = failure_notes(s)
        if notes:
            parts.append("<p class='meta'>Left out of the means: " + html.escape("; ".join(notes)) + ".</p>")
        parts.append(
            f"<p class='meta'><a href='#full-{anchor}'>Full table: all {len(s.metrics)} metrics</a> · "
            "tables.md, tables.tex, summary.csv (headline, with 95% CIs and p-values), cells.csv (every "
            "metric)</p>"
        )
        for f in figures:
            if f.title.startswith(f"{s.dataset}:"):
                rel_png = f.png.relative_to(report_dir).as_posix()
                rel_pdf = f.pdf.relative_to(report_dir).as_posix()
                parts.append(
                    f"<h3>{html.escape(f.title)}</h3><p><a href='{rel_pdf}'>PDF</a></p>"
                    f"<img src='{rel_png}' alt='{html.escape(f.title)}'>"
                )
    parts.append("<h2>Full tables</h2>")
    parts.append(f"<p class='meta'>{html.escape(LEGEND.format(mark=TIED_MARK))}</p>")
    for s in summaries:
        anchor = html.escape(s.dataset)
        parts.append(f"<h3 id='full-{anchor}'>{html.escape(s.dataset)}: all {len(s.metrics)} metrics</h3>")
        parts.append(f"<div class='wide full'>{_table_html(table_frame(s))}</div>")
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>mfif-bench report</title>"
        f"<style>{_CSS}</style><script>{_CHECK_JS}</script></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )
    path = report_dir / "report.html"
    atomic_write_text(path, page)
    return path
