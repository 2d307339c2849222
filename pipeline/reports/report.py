"""One report being made in a notebook: its parameters, its data, and how it shows things.

A notebook opens a :class:`Report` from its parameters, then calls the sections in
:mod:`pipeline.reports.sections`; everything it shows goes through :meth:`Report.html`,
:meth:`Report.table` and :meth:`Report.figure`, which also write the table (CSV, XLSX) and the
figure (PNG) files when the report has an output folder. The report remembers every load
batch behind the cells it used, for the provenance footer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from pipeline.config import get_settings
from pipeline.errors import SpscError
from pipeline.lang import pick
from pipeline.reports import data
from pipeline.reports.text import TEXT, check_lang, t

FIGURE_DPI = 150  # 1500 px wide charts: sharp on a slide, light enough to embed
KINDS = ("quarterly", "profile", "explore")


def resolve_municipality(name: str | None, project: list[str]) -> str | None:
    """A project municipality's id from its id or any spelling of its name (``None`` stays)."""
    if name is None or str(name).strip() == "":
        return None
    from pipeline.reference.names import normaliser

    if not project:
        raise SpscError("the project has no municipalities (spsc.yml: area), so no profiles",
                        "--municipality")
    muni_id = name if name in project else normaliser().resolve(str(name))
    if muni_id not in project:
        raise SpscError(f"'{name}' is not a municipality of the project (spsc.yml: area)", "--municipality",
                        "use one of: " + ", ".join(project))
    return muni_id


class Report:
    """The state of one report: parameters, warehouse cells and display helpers.

    Args:
        period: the reporting quarter (``2024Q4``).
        municipality: a project municipality (id or name), ``None`` for the whole project.
        lang: ``en``, ``bs``, ``hr``, ``sr`` (Cyrillic) or ``sr-Latn``.
        warehouse: the DuckDB file ("" or ``None``: the configured one).
        output_dir: where ``figures/`` and ``tables/`` are written ("" or ``None``: nowhere).
        maps_dir: a folder of maps the batch already rendered ("" or ``None``: draw them).
        kind: ``quarterly`` or ``profile`` (the title, and file names when not the project).
        project: the project folder ("" or ``None``: ``SPSC_PROJECT`` or the current folder).

    Raises:
        SpscError: a bad parameter, no project, or no data for the period.
    """

    def __init__(self, *, period: str, municipality: str | None = None, lang: str = "en",
                 warehouse: str | None = None, output_dir: str | None = None,
                 maps_dir: str | None = None, kind: str = "quarterly", project: str | None = None) -> None:
        from pipeline.indicators.catalogue import load_catalogue

        self.period = data.check_period(period)
        self.lang = check_lang(lang)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self.kind = kind
        self.parameters = {"period": period, "municipality": municipality, "lang": lang,
                           "warehouse": warehouse or "", "output_dir": output_dir or "",
                           "maps_dir": maps_dir or ""}
        self.settings = get_settings(db=Path(warehouse) if warehouse else None, project=project or None)
        self.setup = self.settings.require_project()
        self.output_dir = Path(output_dir) if output_dir else None
        self.maps_dir = Path(maps_dir) if maps_dir else None
        self.con = data.open_warehouse(self.settings.db)
        try:
            from pipeline.warehouse import freshness

            # what the read copy holds, and whether the warehouse had more, as the report reads it
            self.freshness = freshness(self.settings.db, self.con)
            self.catalogue = load_catalogue(self.setup)
            self.names = data.municipality_names(self.con, self.lang)
            self.project = data.project_municipalities(self.con, self.setup.area)
            self.muni = resolve_municipality(municipality, self.project)
            if kind == "profile" and self.muni is None:
                raise SpscError("a municipality profile needs a municipality", "municipality",
                                "pass one of: " + ", ".join(self.project))
            self.values = data.indicator_values(self.con, self.period)
            self.changes = data.changes_through(self.values, data.indicator_changes(self.con),
                                                self.period, self.catalogue)
            self.dimensions = data.dimension_labels(self.con, self.catalogue, self.setup)
            self.batch_ids: set[int] = set()
            self._donor: pd.DataFrame | None = None
            self._min_cell = data.build_min_cell(self.con) or self.settings.min_cell
            self._check_period_has_data()
        except BaseException:
            self.con.close()
            raise

    # ------------------------------------------------------------------ identity
    @property
    def slug(self) -> str:
        """The stem of this report's files: ``project``, ``drvar``, ``quarterly_drvar``."""
        if self.muni is None:
            return "project"
        return self.muni if self.kind == "profile" else f"{self.kind}_{self.muni}"

    @property
    def stem(self) -> str:
        """The stem of this report's files in its language: ``project.en``, ``ribnik.sr``."""
        return f"{self.slug}.{self.lang}"

    @property
    def untranslated(self) -> list[str]:
        """Labels of indicators and results that ``indicators.yml`` gives without this
        report's language (they are shown in English)."""
        missing = [r.label.get("en") for r in self.catalogue.results if not r.label.has(self.lang)]
        missing += [i.label.get("en") for i in self.catalogue.indicators if not i.label.has(self.lang)]
        return missing

    @property
    def is_city(self) -> bool:
        """Whether the report's municipality is a city (``spsc.yml``: ``cities``)."""
        return self.muni is not None and self.muni in self.setup.config.cities

    @property
    def place(self) -> str | None:
        """The municipality's printed name, ``None`` for the project."""
        return self.names.get(self.muni) if self.muni else None

    @property
    def title(self) -> str:
        """The report's title in its language."""
        name = self.setup.name
        if self.muni is None:
            return t("title_project", self.lang, period=self.period, project=name)
        key = "title_profile" if self.kind == "profile" else "title_quarterly_muni"
        if key == "title_profile" and self.is_city:
            key = "title_profile_city"
        return t(key, self.lang, period=self.period, municipality=self.place, project=name)

    @property
    def subtitle(self) -> str:
        """The project's full name, implementers and donor."""
        config = self.setup.config
        who = ", ".join(x for x in (config.implementers, config.donor) if x)
        return config.name.get(self.lang) + (f" ({who})" if who else "")

    @property
    def min_cell(self) -> int:
        """The small-cell threshold the indicators were built with (the settings' if unknown)."""
        return self._min_cell

    def donor(self) -> pd.DataFrame:
        """The donor table of the period (``spsc indicators``), computed once per report."""
        if self._donor is None:
            from pipeline.indicators.donor_table import donor_rows

            self._donor = donor_rows(self.con, self.catalogue, self.settings, self.period,
                                     values=self.values)
            for ind_id in self._donor["indicator_id"]:
                self.use_through(ind_id)
        return self._donor

    def use_through(self, indicator_id: str) -> None:
        """Record the batches behind an indicator's cells up to this report's quarter."""
        v = self.values
        upto = v["period"] <= self.period
        if self.cumulative_available(indicator_id):
            upto |= v["period"] == data.CUMULATIVE
        self._use(v[(v["indicator_id"] == indicator_id) & upto])

    def _check_period_has_data(self) -> None:
        own = self.values["period"] == self.period
        if not own.any():
            raise SpscError(f"no indicator values for {self.period}", str(self.settings.db),
                            "load that quarter's files and run 'spsc build', or pick another period")

    # ------------------------------------------------------------------ cells
    def label(self, indicator_id: str) -> str:
        """The indicator's catalogue label in the report's language."""
        return self.catalogue.get(indicator_id).label.get(self.lang)

    def subject(self, indicator_id: str) -> str:
        """The noun phrase that opens a sentence about the indicator."""
        return self.catalogue.get(indicator_id).subject_in(self.lang)

    def unit(self, indicator_id: str) -> str:
        """The indicator's unit as text and charts read it (``percent``, ``mean 0-10`` ...)."""
        return self.catalogue.get(indicator_id).display_unit

    def dimension_label(self, dimension: str, value: str) -> str:
        """How a dimension value is printed: Women, 18-29, Drvar, Republika Srpska, a choice label."""
        if dimension == "municipality":
            return self.names.get(value, value)
        if dimension in self.dimensions:
            labels = self.dimensions[dimension]["values"].get(value)
            return pick(labels, self.lang)[0] if labels else str(value)
        key = f"val_{value}"
        return t(key, self.lang) if key in TEXT else str(value)

    def dimension_name(self, dimension: str) -> str:
        """How a breakdown is named: Sex, Age group, or the question's label."""
        if dimension in self.dimensions:
            return pick(self.dimensions[dimension]["label"], self.lang)[0] or dimension
        key = f"dim_{dimension}"
        return t(key, self.lang) if key in TEXT else dimension

    def event_label(self, event_type: str) -> str:
        """An event type as the project names it (spsc.yml: attendance.event_types)."""
        text = self.setup.config.attendance.event_types.get(event_type)
        return text.get(self.lang) if text else str(event_type).replace("_", " ").capitalize()

    def reported_period(self, indicator_id: str) -> str | None:
        """The period shown for an indicator: survey = latest wave up to the report's quarter;
        attendance = the quarter itself (``None`` when it has no cell then)."""
        ind = self.catalogue.get(indicator_id)
        own = self.values.loc[self.values["indicator_id"] == indicator_id, "period"]
        if ind.is_survey:
            waves = own[(own != data.CUMULATIVE) & (own <= self.period)]
            return None if waves.empty else str(waves.max())
        return self.period if (own == self.period).any() else None

    def cumulative_available(self, indicator_id: str) -> bool:
        """Whether the ``cumulative`` cells describe the project up to this report's quarter.

        The engine's cumulative counts cover every quarter loaded, so they are shown only in
        the report of the latest quarter.
        """
        own = self.values.loc[self.values["indicator_id"] == indicator_id, "period"]
        quarters = own[own != data.CUMULATIVE]
        return (own == data.CUMULATIVE).any() and not quarters.empty and quarters.max() <= self.period

    def cells(self, indicator_id: str, period: str | None, dimension: str | None = None) -> pd.DataFrame:
        """Published cells of one indicator and period (optionally one dimension); recorded."""
        v = self.values
        mask = (v["indicator_id"] == indicator_id) & (v["period"] == period)
        if dimension is not None:
            mask &= v["dimension"] == dimension
        rows = v[mask]
        self._use(rows)
        return rows

    def cell(self, indicator_id: str, period: str | None, dimension: str = "total",
             value: str = "total") -> pd.Series | None:
        """One published cell, or ``None`` when the warehouse has none."""
        rows = self.cells(indicator_id, period, dimension)
        rows = rows[rows["dimension_value"] == value]
        return None if rows.empty else rows.iloc[0]

    def scope_cell(self, indicator_id: str, period: str | None) -> pd.Series | None:
        """The cell for this report's scope: the project total or the municipality's cell."""
        if self.muni is None:
            return self.cell(indicator_id, period)
        return self.cell(indicator_id, period, "municipality", self.muni)

    def _use(self, rows: pd.DataFrame) -> None:
        for ids in rows.get("batch_ids", []):
            if ids is not None:
                self.batch_ids.update(int(b) for b in ids)

    # ------------------------------------------------------------------ display
    def html(self, markup: str) -> None:
        """Show HTML in the notebook (and so in the exported report)."""
        from IPython.display import HTML, display

        display(HTML(markup))

    def heading(self, key: str, level: int = 2, **values) -> None:
        """A section heading from :data:`pipeline.reports.text.TEXT`."""
        from pipeline.reports.pages import render

        self.html(render("heading", level=level, text=t(key, self.lang, **values)))

    def paragraphs(self, sentences: list[str], css: str | None = None) -> None:
        """Sentences as paragraphs (escaped)."""
        from pipeline.reports.pages import render

        self.html(render("paragraphs", sentences=sentences, css=css))

    def table(self, name: str, tidy: pd.DataFrame, shown: pd.DataFrame | None = None) -> None:
        """Show a table and write its tidy form to ``tables/<stem>__<name>.csv`` and ``.xlsx``.

        Args:
            name: the table's file name part.
            tidy: the numbers as numbers (what an analyst re-uses).
            shown: the formatted table readers see (defaults to ``tidy``).
        """
        from pipeline.reports.tables import to_html, write_table

        if self.output_dir is not None:
            write_table(tidy, self.output_dir / "tables" / f"{self.stem}__{name}", sheet=name)
        self.html(to_html(tidy if shown is None else shown))

    def figure(self, name: str, fig) -> None:
        """Show a figure and write it to ``figures/<stem>__<name>.png``."""
        from pipeline.reports.report_maps import png_bytes

        png = png_bytes(fig, FIGURE_DPI)
        if self.output_dir is not None:
            folder = self.output_dir / "figures"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{self.stem}__{name}.png").write_bytes(png)
        self.image(png)

    def image(self, png: bytes) -> None:
        """Show PNG bytes (embedded in the notebook, so in the HTML)."""
        from IPython.display import Image, display

        display(Image(data=png, format="png"))

    @property
    def python(self) -> str:
        """The interpreter running this report (the kernel's)."""
        return sys.executable

    def close(self) -> None:
        """Release the warehouse."""
        self.con.close()


def open_report(**parameters) -> Report:
    """A :class:`Report` from a notebook's parameters (see :class:`Report` for them)."""
    return Report(**parameters)
