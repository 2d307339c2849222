-- Survey-agency files: the codes a source declares missing (SPSS user-missing values, Stata's
-- extended missing values) load as missing answers, and the code is kept here, so an analyst
-- can still tell "refused" (98) from "don't know" (99). Replaced batches are recorded.

-- the codes each question's source declares missing (a range as lo..hi)
alter table stg_codebook__questions add column if not exists missing_codes varchar[];
-- a choice that is a declared missing code, not an answer
alter table stg_codebook__choices add column if not exists is_missing boolean default false;

-- one row per answer loaded as missing because its source declared the code missing
create table if not exists stg_survey__missing_codes (
    submission_id  bigint not null,
    question       varchar not null,
    code           varchar not null,   -- the code in the file, e.g. 98 or .a
    label          varchar             -- its value label, e.g. Refused
);

-- one row per load batch replaced by a reload of a corrected file or mapping (--replace)
create table if not exists batch_replacements (
    old_batch_id  integer not null,
    new_batch_id  integer not null,
    file_name     varchar not null,
    reason        varchar not null,
    replaced_at   timestamp not null
);

-- the codebook marts show them too
alter table codebook_questions add column if not exists missing_codes varchar[];
alter table codebook_choices add column if not exists is_missing boolean;
