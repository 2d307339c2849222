-- Indicator marts, replaced as a whole by `spsc build` (pipeline/indicators/engine.py).

-- one row per indicator, period, dimension and dimension value
-- (estimate/se/CI are NULL when suppressed; n is kept for audit and never published then)
create table if not exists indicator_values (
    indicator_id     varchar not null,
    period           varchar not null,   -- survey wave or attendance quarter (2024Q4), or 'cumulative'
    dimension        varchar not null,   -- total, sex, age_group, municipality, entity
    dimension_value  varchar not null,   -- 'total', 'female', '18-29', a muni_id, 'FBiH', ...
    estimate         double,             -- percent on 0-100, score on its scale, or a count
    se               double,             -- NULL for counts (attendance is a register, not a sample)
    ci_low           double,             -- 95% confidence interval
    ci_high          double,
    n                bigint not null,    -- people behind the cell
    suppressed       boolean not null,   -- fewer than min_cell people, or complementary
    batch_ids        integer[] not null  -- load batches the cell was computed from
);

-- one row per survey indicator and dimension value: baseline wave vs latest wave
create table if not exists indicator_changes (
    indicator_id       varchar not null,
    dimension          varchar not null,
    dimension_value    varchar not null,
    baseline_period    varchar not null,
    latest_period      varchar not null,
    baseline_estimate  double,
    latest_estimate    double,
    change             double,            -- latest minus baseline, in the indicator's unit
    se                 double,            -- sqrt(se1^2 + se2^2): waves are independent samples
    ci_low             double,
    ci_high            double,
    p_value            double,
    significant        boolean,           -- at 95%; NULL when suppressed
    suppressed         boolean not null
);

-- one row per catalogue indicator: labels and units for SQL readers
create table if not exists indicator_catalogue (
    indicator_id  varchar not null,
    result        varchar not null,
    level         varchar not null,
    label_en      varchar not null,
    label_bs      varchar not null,
    source        varchar not null,
    estimator     varchar not null,
    unit          varchar not null,   -- percent (0-100), score_0_10, count
    illustrative  boolean not null,   -- targets are demonstration values
    position      integer not null
);

-- one row: the build the marts above come from
create table if not exists indicator_builds (
    built_at     timestamp not null,
    fingerprint  varchar not null,   -- catalogue content and min_cell
    min_cell     integer not null,   -- the small-cell threshold the build applied
    n_values     bigint not null,
    n_suppressed bigint not null
);

-- what may leave the warehouse: n is blanked for suppressed cells
create or replace view indicator_values_published as
select indicator_id, period, dimension, dimension_value, estimate, se, ci_low, ci_high,
    case when suppressed then null else n end as n, suppressed, batch_ids
from indicator_values;
