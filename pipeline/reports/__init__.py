"""Reports: the quarter's notebooks run by papermill, published as HTML, tables and a deck.

- :mod:`~pipeline.reports.report` and :mod:`~pipeline.reports.sections`: what the notebooks in
  ``notebooks/`` call (the notebooks hold only parameters and one call per section);
- :mod:`~pipeline.reports.narrative`, :mod:`~pipeline.reports.text`: sentences and words in
  English and Bosnian; :mod:`~pipeline.reports.charts`: slide-ready matplotlib charts;
- :mod:`~pipeline.reports.batch`: ``spsc report`` (papermill in a process pool, HTML without
  code, index, swap into ``reports/<period>/``); :mod:`~pipeline.reports.deck`: ``spsc deck``;
- :mod:`~pipeline.reports.provenance`, :mod:`~pipeline.reports.html`,
  :mod:`~pipeline.reports.tables`, :mod:`~pipeline.reports.pdf`: what every output carries.

Heavy libraries (papermill, nbconvert, matplotlib, python-pptx) load inside the functions that
use them, so importing this package and ``spsc --help`` stay fast.
"""
