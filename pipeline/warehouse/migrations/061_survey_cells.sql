-- Cell-level quarantine for surveys: a bad cell is loaded as missing and kept here with its
-- reason; only what makes a row unusable quarantines the row. Repeat instances are kept even
-- when none of their answers is stored (a household member whose only answer is a name).

-- what the quarantine did: 'row' (the row was not loaded), 'cell' (loaded as missing),
-- 'note' (loaded as it is, e.g. a required answer left blank); rows before this are 'row'
alter table quarantine add column if not exists action varchar default 'row';

-- cells loaded as missing (their rows are loaded) per batch
alter table load_batches add column if not exists cells_quarantined bigint default 0;

-- one row per repeat-group instance (whether or not any of its answers is stored)
create table if not exists stg_survey__repeat_instances (
    submission_id  bigint not null,
    batch_id       integer not null,
    repeat_path    varchar not null,
    row_index      bigint not null,    -- the instance's _index in its repeat table
    parent_path    varchar,            -- NULL when the parent is the submission itself
    parent_index   bigint not null,
    source_sheet   varchar,
    source_row     bigint
);
