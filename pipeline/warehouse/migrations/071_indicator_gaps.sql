-- one row per survey indicator, wave and gap within the wave: women vs men, FBiH vs RS.
-- The two domains come from one sample, so the SE uses their covariance (R's
-- svycontrast(svyby(..., covmat = TRUE))); intervals and the test are t on the design's df.
create table if not exists indicator_gaps (
    indicator_id     varchar not null,
    period           varchar not null,
    dimension        varchar not null,   -- sex or entity
    first            varchar not null,   -- female / FBiH
    second           varchar not null,   -- male / RS
    estimate_first   double,
    estimate_second  double,
    gap              double,             -- first minus second, in the indicator's unit
    se               double,
    df               integer,
    ci_low           double,
    ci_high          double,
    p_value          double,
    significant      boolean,            -- at 95%; NULL when suppressed
    suppressed       boolean not null    -- either side is a suppressed cell
);
