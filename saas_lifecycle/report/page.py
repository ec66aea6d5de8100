"""The report's single self-contained HTML page.

Everything the page needs is inside it: plotly.js inline, each figure as JSON, CSS with
system fonts only. Links to the Data Docs and dbt docs are relative to the page.
After drawing, a script records in `#render-status` which charts drew an SVG, so a headless
browser can check the page (pytests/test_report.py).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from saas_lifecycle.report.charts import FONT, Chart
from saas_lifecycle.report.marts import MartsSnapshot
from saas_lifecycle.report.readings import as_of_text

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

STYLE = """
* { box-sizing: border-box; }
body { font-family: %(font)s; margin: 0; background: #f4f5f7; color: #212529; }
header { background: #fff; padding: 20px 32px 12px; border-bottom: 1px solid #dee2e6; }
h1 { font-size: 24px; margin: 0 0 6px; }
.facts { margin: 4px 0; font-size: 14px; }
.facts b { font-weight: 600; }
.muted { color: #6c757d; }
details { margin: 8px 0 4px; font-size: 13px; }
details ul { columns: 4; margin: 6px 0; padding-left: 18px; }
main { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px;
       padding: 18px 32px 32px; }
.card { background: #fff; border: 1px solid #dee2e6; border-radius: 8px; padding: 8px 12px; }
.card.wide { grid-column: 1 / -1; }
.reading { font-size: 15px; margin: 6px 4px 2px; }
.about { font-size: 12px; margin: 2px 4px 6px; }
@media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
"""

RENDER_SCRIPT = """
(function () {
  var config = %(config)s;
  var status = document.getElementById("render-status");
  var charts = Array.prototype.slice.call(document.querySelectorAll("[data-chart]"));
  var jobs = charts.map(function (div) {
    try {
      var figure = JSON.parse(document.getElementById("figure-" + div.dataset.chart).textContent);
      return Plotly.newPlot(div, figure.data, figure.layout, config).catch(function (error) {
        console.error(div.dataset.chart, error);
      });
    } catch (error) {
      console.error(div.dataset.chart, error);
      return Promise.resolve();
    }
  });
  Promise.all(jobs).then(function () {
    var drawn = charts.filter(function (div) {
      return div.querySelector("svg.main-svg") !== null;
    }).map(function (div) { return div.dataset.chart; });
    status.setAttribute("data-drawn", drawn.join(" "));
    status.setAttribute("data-done", "true");
  });
})();
"""


@dataclass(frozen=True)
class DocLinks:
    """Where the companion docs are (None when not built)."""

    data_docs: Path | None
    dbt_docs: Path | None


def _href(target: Path, page: Path) -> str:
    """A link from the page's folder to target, relative so the pair can move together."""
    return html.escape(Path(os.path.relpath(target, page.parent)).as_posix(), quote=True)


def _json_for_script(text: str) -> str:
    """JSON text made safe inside a <script> element (no `</script>` can end it early)."""
    return text.replace("</", "<\\/")


def _links(links: DocLinks, page: Path) -> str:
    parts = []
    if links.data_docs:
        parts.append(
            f'Data quality: <a href="{_href(links.data_docs, page)}">Great Expectations Data '
            "Docs</a> (every validation of the last run)"
        )
    else:
        parts.append('Data quality: <span class="muted">no Data Docs found</span>')
    if links.dbt_docs:
        parts.append(f'Lineage: <a href="{_href(links.dbt_docs, page)}">dbt docs</a>')
    else:
        parts.append(
            'Lineage: <span class="muted">dbt docs not generated (<code>dbt docs generate '
            "--static</code>, see the README)</span>"
        )
    return " · ".join(parts)


def _acknowledged(snapshot: MartsSnapshot) -> str:
    """The publishing run's acknowledged failures: published as warnings, with the reason."""
    if not snapshot.acknowledged:
        return ""
    esc = html.escape
    items = "".join(
        f"<li><code>[{esc(a.layer)}] {esc(a.expectation)}</code>"
        f"{f' on {esc(a.dates)}' if a.dates else ''}: acknowledged, {esc(a.acknowledged)}</li>"
        for a in snapshot.acknowledged
    )
    return (
        '<div class="facts" id="acknowledged"><b>Acknowledged data-quality failures</b>'
        " (published as warnings; <code>acknowledgements.yml</code>):"
        f"<ul>{items}</ul></div>"
    )


def _header(snapshot: MartsSnapshot, built_at: datetime, links: DocLinks, page: Path) -> str:
    esc = html.escape
    zone = snapshot.reporting_timezone or "unknown"
    money = f" · money in <b>{esc(snapshot.currency)}</b>" if snapshot.currency else ""
    counts = "".join(
        f"<li>{esc(name)}: {rows:,}</li>" for name, rows in snapshot.row_counts.items()
    )
    total = sum(snapshot.row_counts.values())
    return f"""
<header>
  <h1>SaaS lifecycle report</h1>
  <p class="facts">As of <b>{esc(as_of_text(snapshot.as_of_date))}</b>
    · reporting time zone <b>{esc(zone)}</b>{money}
    · built <b>{esc(built_at.strftime("%Y-%m-%d %H:%M %Z"))}</b></p>
  <p class="facts">Marts: <code>{esc(str(snapshot.database))}</code>, schema <b>marts</b>
    ({len(snapshot.row_counts)} marts, {total:,} rows)</p>
  <p class="facts">{_links(links, page)}</p>
  {_acknowledged(snapshot)}
  <details><summary>Rows per mart</summary><ul>{counts}</ul></details>
</header>"""


def _card(chart: Chart) -> str:
    key = html.escape(chart.key, quote=True)
    figure = _json_for_script(chart.figure.to_json())
    return f"""
<section class="card{" wide" if chart.wide else ""}">
  <div class="chart" id="chart-{key}" data-chart="{key}"></div>
  <p class="reading">{html.escape(chart.reading)}</p>
  <p class="about muted">{html.escape(chart.about)}</p>
  <script type="application/json" id="figure-{key}">{figure}</script>
</section>"""


def render_page(
    snapshot: MartsSnapshot,
    charts: Sequence[Chart],
    links: DocLinks,
    built_at: datetime,
    page: Path,
    plotly_js: str,
) -> str:
    """The whole HTML document (page is where it will be written, for relative links)."""
    expected = " ".join(html.escape(chart.key, quote=True) for chart in charts)
    script = RENDER_SCRIPT % {"config": json.dumps(PLOTLY_CONFIG)}
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SaaS lifecycle report, as of {html.escape(as_of_text(snapshot.as_of_date))}</title>
<style>{STYLE % {"font": FONT}}</style>
</head>
<body>
{_header(snapshot, built_at, links, page)}
<main>{"".join(_card(chart) for chart in charts)}
</main>
<div id="render-status" hidden data-expected="{expected}" data-drawn="" data-done="false"></div>
<script>{plotly_js}</script>
<script>{script}</script>
</body>
</html>
"""
