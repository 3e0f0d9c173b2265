"""Reports: the one place postpilot renders HTML.

- ``charts``: the SVG charts (grouped bars, a line per chunk with its band and
  guides) as pure functions of plain numbers and strings. They import nothing from
  postpilot's data layers, so a dashboard draws the same charts from whatever rows
  it has (here a metric per chunk, its band, the last chunk alerting):

  >>> from postpilot.reports.charts import line
  >>> svg = line([0.91, 0.88, 0.79], [0.85] * 3, [0.95] * 3, [False, False, True])
  >>> svg.startswith("<svg") and svg.count("<circle") == 3
  True

- ``html``: escaping, the page shell (a self-contained document: inline CSS and SVG,
  no scripts, nothing fetched) and the shared CSS.
- ``drift``, ``performance``, ``card``: one renderer per kind of report, each a
  ``render(report, ...)`` that takes the result object and returns the page
  (``performance.section`` is the performance part of a drift page).

The result objects call their renderer one way, from inside ``to_html`` (a
function-level import): ``DriftReport.to_html``, ``PerformanceReport.to_html`` and
``Card.to_html``. Renderers name the result classes only for type checking, so
importing a result class never imports a renderer and a renderer never imports the
layer that calls it.
"""

__all__: list[str] = []
