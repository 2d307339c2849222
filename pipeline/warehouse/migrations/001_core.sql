-- Core bookkeeping: one row per ingested file, and the rows it could not load.

create sequence if not exists load_batch_seq start 1;

-- one row per raw file the pipeline has seen (registered, loaded, rejected or superseded)
create table if not exists load_batches (
    batch_id          integer primary key default nextval('load_batch_seq'),
    path              varchar not null,
    file_name         varchar not null,
    sha256            varchar not null,
    size_bytes        bigint not null,
    kind              varchar not null,   -- survey, attendance, events, ...
    wave              varchar,            -- survey wave or reporting period, when known
    rows_read         bigint,
    rows_loaded       bigint,
    rows_quarantined  bigint,
    rows_blank        bigint,
    started_at        timestamp,
    finished_at       timestamp,
    pipeline_version  varchar not null,
    status            varchar not null,   -- registered, loaded, rejected, superseded
    message           varchar
);

-- one row per rejected cell: the row it belonged to was not loaded
create table if not exists quarantine (
    batch_id      integer not null,
    file_name     varchar not null,
    sheet         varchar,
    source_row    bigint,
    column_name   varchar,
    value         varchar,
    rule          varchar not null,
    reason        varchar not null
);

-- key/value facts about this warehouse (e.g. the fingerprint of the pseudonymisation secret)
create table if not exists warehouse_meta (
    key    varchar primary key,
    value  varchar not null
);
