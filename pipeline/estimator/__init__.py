"""Design-based survey estimation that reproduces R's ``survey`` package.

``Design`` mirrors ``svydesign()``; its methods mirror ``svymean``, ``svytotal``,
``svyratio``, ``svyciprop``, ``svyby``, ``postStratify``, ``rake``, ``calibrate`` and
``svycontrast``. Every number is checked against R in ``tests/test_survey.py`` (reference
values made by ``tests/fixtures/survey_r/make_reference.R`` with Debian's R 4.2 and
survey 4.1-1).

Example::

    d = Design(df, weights="pw", strata="stype", psu="dnum", fpc="fpc")
    d.mean("api00")                             # svymean(~api00, d, na.rm=TRUE)
    d.mean("api00", by="stype")                 # svyby(~api00, ~stype, d, svymean, na.rm=TRUE)
    d.proportion("sch.wide", "Yes", by="stype")  # + svyciprop(method="logit", df=degf(domain))
    d.means(["api00", "enroll"], by=["stype", "awards"])   # long format
    two = Design(df, psu=("dnum", "snum"), fpc=("fpc1", "fpc2"))  # id=~dnum+snum, fpc=~fpc1+fpc2
    cal = d.rake([("stype", pop_stype), ("sch.wide", pop_sw)])   # rake(d, list(~stype, ~sch.wide), ...)
    d.differences("mean", "api00", between="sch.wide", first="Yes", second="No", by="stype")

Every estimate carries ``estimate, se, df, ci_low, ci_high, ci_method, n, n_weighted,
deff, note``:

* ``df`` is R's ``degf()`` of the domain's design (``svyby`` subsets the design, and
  ``svyciprop`` inside ``svyby`` uses that subset's ``degf``): PSUs minus strata among the
  domain's rows with a non-zero weight, rows with a missing value of the variable included.
* Means, totals and ratios get a t interval on ``df`` (R ``confint(est, df = df)``);
  proportions the logit interval on ``df`` (R ``svyciprop(method = "logit", df = df)``),
  which stays inside (0, 1). No interval is clipped.
* ``n`` counts the rows with a value (complete rows for ratios), ``n_weighted`` is their
  weight (the estimate's base, R's ``psum``), ``deff`` is R's ``deff = TRUE`` (SRS without
  replacement of the same size from a population of ``n_weighted``; ``Design(...,
  deff="replace")`` for ``deff = "replace"``).
* ``note`` says when a number is not what it seems (codes joined by ``;``):
  ``lonely_psu_<rule>`` (a stratum of the domain had a single PSU and the rule was applied),
  ``variance_not_estimable`` (se and interval NaN: R's variance is NaN, or the variance is
  exactly 0 although the values vary and the domain has no degree of freedom, e.g. a domain
  inside one PSU or a lonely PSU under ``"remove"``), ``no_degrees_of_freedom`` (df = 0:
  no t quantile, interval NaN, as R), ``no_variation`` (every value equal, e.g. 0% or 100%:
  se 0 as R, but no interval rather than a zero-width one) and ``no_observations``.

Variance is by Taylor linearisation (R's ``svyrecvar``): each estimator forms influence
values per row, summed to sampling units; within stratum ``h`` with ``n_h`` sampled PSUs
and ``f_h = n_h / N_h``

    V1 = sum_h (1 - f_h) n_h / (n_h - 1) sum_i (z_hi - zbar_h)^2.

Multistage designs (``psu=("psu", "ssu")``, ``fpc=("fpc1", "fpc2")``) add, as R's
``multistage()`` does when an fpc is given for every stage, the variance of each later
stage within its parent unit, multiplied by the parent's sampling fraction:

    V = V1 + sum_i f_h(i) V2_i,  V2_i = (1 - n_i/N_i) n_i/(n_i - 1) sum_j (z_ij - zbar_i)^2,

(recursively for further stages). Without ``fpc`` only the first stage enters (the
ultimate-cluster approximation, R's behaviour without fpc). Units of a stage are nested in
those of the previous stage and PSUs in strata (R's ``nest=TRUE``).

How R's conventions are matched (survey 4.1-1 unless said):

* Domains (``by=``) as ``svyby``: the domain's rows keep the full design's unit counts
  (``n_h``, ``n_i``), units without domain rows count as zero totals; a stratum without a
  domain row (after ``na.rm``) is absent from the domain's design. Domains whose ``by``
  value is missing are dropped. ``na.rm=TRUE`` is treated like a domain of the rows with
  a value, each variable on its own.
* Lonely PSUs (a stratum, or at a later stage a parent unit, with one sampled unit and
  more than one in the population), ``lonely_psu=`` as ``options(survey.lonely.psu=)``:
  ``"adjust"`` centres the lonely unit at the grand mean of the domain's PSU totals
  (survey >= 4.2; at a later stage the parent's mean, i.e. no contribution),
  ``"adjust_zero"`` at zero (survey <= 4.1, which the fixture was made with; both agree for
  means, proportions and ratios, whose scores sum to zero), ``"average"`` replaces the
  stratum's contribution by the average of the others (NaN when there is none, as R),
  ``"remove"`` and ``"certainty"`` drop it, ``"fail"`` raises. A stratum whose population
  size equals its sample (``f_h = 1``) contributes nothing.
* ``adjust_domain_lonely=True`` is ``options(survey.adjust.domain.lonely=TRUE)``: a stratum
  with several PSUs of which only one holds the domain is treated as lonely too
  (``"adjust"``: the PSU total is centred at the grand mean/zero and the stratum's other PSUs
  enter as zeros centred the same way; ``"average"``: the stratum counts as missing). The
  default ``False`` centres at the stratum mean, absent PSUs counting as zeros.
* Calibrated designs (``post_stratify``, ``rake``, ``calibrate``) keep every row (R sets the
  weights outside a domain to zero instead of dropping rows), so every stratum and PSU of
  the design enters each domain's variance. Scores are replaced by the residuals of the
  calibration model before they are summed to PSUs, exactly as ``svyrecvar`` does:
  ``postStratify`` subtracts post-stratum means (of ``x * oldweights / weights``),
  ``calibrate`` the weighted least-squares fit on the calibration variables
  (``qr.resid``), ``rake`` ten sweeps of the post-stratum mean removals of its margins.
* ``differences``/``contrast`` are ``svyby(..., covmat = TRUE)`` + ``svycontrast``: the
  combined influence functions of the domains go through the full design's variance (every
  stratum present), which gives the covariance of the two domains. Their ``df`` is the
  ``degf`` of the rows of the domains in the contrast (R leaves df to the user).
* Without weights, weights are 1 unless ``fpc`` is given, in which case they are the
  product over stages of ``N / n`` as ``svydesign`` derives them.

``Design.from_cells`` runs the same estimator on cells that already sum the respondents of
one PSU (what the indicator engine gets from DuckDB); see :meth:`Design.cell_means`.

Modules: ``design`` (the ``Design`` class: construction, the public estimators, domains),
``estimation`` (point estimates, influence values, the frame of statistics), ``variance``
(Taylor linearisation by stage, lonely PSUs, calibrated and contrast variance),
``calibration`` (post-stratification, raking, calibration), ``contrasts`` (domain
differences and contrasts), ``cells`` (designs whose rows sum the respondents of a PSU),
``intervals`` (t and logit intervals, the change between independent samples) and
``common`` (types, constants and the records they share).
"""

from pipeline.estimator.cells import CellSums
from pipeline.estimator.common import STAT_COLUMNS
from pipeline.estimator.design import Design
from pipeline.estimator.intervals import Difference, difference, logit_interval, t_interval

__all__ = ["STAT_COLUMNS", "CellSums", "Design", "Difference", "difference", "logit_interval",
           "t_interval"]
