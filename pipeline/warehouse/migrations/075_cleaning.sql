-- Cleaning logs (issue 14): an analyst's decisions on survey answers, kept beside the raw
-- exports and applied between staging and the marts at every ingest and build.

-- one row per registration of a cleaning log file (a file registered again with other content
-- replaces its decisions: the earlier row stays, is_current false)
create table if not exists cleaning_logs (
    log_id         integer not null,
    file_name      varchar not null,   -- relative to the project folder where inside it
    sha256         varchar not null,
    n_decisions    integer not null,
    registered_at  timestamp not null,
    is_current     boolean not null
);

-- one row per decision of a registered log; the submission's _uuid is kept only as its keyed
-- pseudonym (respondent_key), never as raw text
create table if not exists cleaning_decisions (
    log_id          integer not null,
    log_row         integer not null,   -- the row of the log file (header = row 1)
    respondent_key  varchar not null,
    question        varchar,            -- as written in the log (name or group path)
    change_type     varchar not null,   -- change_response, blank_response, remove_survey, no_action
    new_value       varchar,
    old_value       varchar,
    issue           varchar,
    checked_by      varchar,
    checked_date    varchar
);

-- one row per decision and current submission it names (NULL submission: not found): what
-- applying it does to the data now; refreshed by every survey load and every build
create table if not exists cleaning_effects (
    log_id          integer not null,
    log_row         integer not null,
    submission_id   bigint,
    form_id         varchar,
    wave            varchar,
    question        varchar,            -- the question's path in the form (NULL: remove_survey)
    change_type     varchar not null,
    value_before    varchar,            -- the answer as loaded (staging)
    new_value       varchar,            -- as stored (typed text), NULL for blank_response
    has_answer      boolean,            -- staging holds a row for this answer
    status          varchar not null,   -- applied, stale, not_found, refused, overridden
    detail          varchar
);

-- the cleaning logs behind a snapshot's numbers (JSON: file, sha256, decisions, applied)
alter table period_snapshots add column if not exists cleaning_logs varchar;
