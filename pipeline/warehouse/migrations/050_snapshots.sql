-- Published numbers stay put: the indicator values a reported period showed, and the batches
-- behind them (pipeline/checks/snapshots.py). A later load changes indicator_values, never a
-- snapshot; `spsc diff` lists what would change, `--restate` takes a new snapshot.

create sequence if not exists snapshot_seq start 1;

-- one row per snapshot of a reporting period (the first report of it, or a restatement)
create table if not exists period_snapshots (
    snapshot_id       integer primary key default nextval('snapshot_seq'),
    period            varchar not null,    -- the reporting quarter, e.g. 2024Q3
    created_at        timestamp not null,
    reason            varchar not null,    -- e.g. 'spsc report', 'restated: late sign-in sheets'
    batch_ids         integer[] not null,  -- the load batches behind the snapshot's cells
    loaded_batch_ids  integer[] not null,  -- every batch loaded in the warehouse at the time
    built_at          timestamp,           -- the indicator build the cells were copied from
    fingerprint       varchar,             -- catalogue content and min_cell of that build
    min_cell          integer,
    restates          integer              -- the snapshot of the same period this one replaced
);

-- one row per snapshot and indicator cell (indicator, period, dimension, dimension value);
-- `period` is the cell's own period: a survey wave or quarter up to the reporting period, or
-- 'cumulative', which here means cumulative through the reporting period
create table if not exists indicator_snapshots (
    snapshot_id       integer not null,
    reporting_period  varchar not null,
    created_at        timestamp not null,
    indicator_id      varchar not null,
    period            varchar not null,
    dimension         varchar not null,
    dimension_value   varchar not null,
    estimate          double,
    se                double,
    ci_low            double,
    ci_high           double,
    n                 bigint not null,     -- kept for audit; published_values blanks it when suppressed
    suppressed        boolean not null,
    batch_ids         integer[] not null
);
