"""``report.html``: one static page with the run's ranked tables and figures (relative links only).

The page carries a few lines of inline JavaScript that, once loaded, count images that failed to
load and store the count in ``<body data-broken-images="N">``; the browser test reads it.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from bench.rundir import atomic_write_text

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse;font-size:13px;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;white-space:nowrap}
th{background:#f3f3f3} img{max-width:100%;border:1px solid #eee} .meta{color:#555;font-size:13px}
"""

_CHECK_JS = """
window.addEventListener('load', function () {
  var bad = 0, imgs = document.images;
  for (var i = 0; i < imgs.length; i++) { if (!imgs[i].complete || imgs[i].naturalWidth === 0) bad++; }
  document.body.setAttribute('data-broken-images', String(bad));
  document.body.setAttribute('data-images', String(imgs.length));
});
"""


def _table_html(frame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for r in frame.itertuples(index=False):
        cells = []
        for v in r:
            text = html.escape(str(v))
            if text.startswith("**"):
                end = text.index("**", 2)
                text = f"<b>{text[2:end]}</b>{text[end + 2 :]}"
            cells.append(f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def write_html(
    run_dir: str | Path, report_dir: str | Path, figures: list, summaries: list | None = None
) -> Path:
    """Write ``<report_dir>/report.html`` from the run's results and the drawn figures."""
    from bench.report import LEGEND, TIED_MARK, summarize, table_frame
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
                f"protocol {meta.get('config', {}).get('protocol', '')}"
            )
            + "</p>"
        )
    for s in summaries:
        parts.append(f"<h2>{html.escape(s.dataset)} ({s.n_scenes} scenes)</h2>")
        parts.append(_table_html(table_frame(s)))
        for f in figures:
            if f.title.startswith(f"{s.dataset}:"):
                rel_png = f.png.relative_to(report_dir).as_posix()
                rel_pdf = f.pdf.relative_to(report_dir).as_posix()
                parts.append(
                    f"<h3>{html.escape(f.title)}</h3><p><a href='{rel_pdf}'>PDF</a></p>"
                    f"<img src='{rel_png}' alt='{html.escape(f.title)}'>"
                )
    parts.append(f"<p class='meta'>{html.escape(LEGEND.format(mark=TIED_MARK))}</p>")
    parts.append(
        "<p class='meta'>Tables: tables.md, tables.tex, summary.csv (with bootstrap 95% CIs and "
        "p-values) in this folder.</p>"
    )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>mfif-bench report</title>"
        f"<style>{_CSS}</style><script>{_CHECK_JS}</script></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )
    path = report_dir / "report.html"
    atomic_write_text(path, page)
    return path
