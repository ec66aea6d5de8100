"""The visual report: one self-contained HTML file drawn from the published marts.

marts.py reads the frames, readings.py words each chart's one-line reading, charts.py draws
the plotly figures, page.py assembles the page and build.py writes it (`lifecycle report`,
and the end of `lifecycle run`).
"""
