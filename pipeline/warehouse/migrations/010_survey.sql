-- Survey ingestion: forms (codebook), submissions and their answers, replacements, survey marts.
-- Staging tables keep every loaded row of every export (all versions of a submission);
-- `stg_survey__submissions.is_current` marks the one version the marts use.

-- one row per form version the warehouse knows (an XLSForm, or the labels of an SPSS/CSV source)
create table if not exists survey_forms (
    form_id           varchar not null,
    form_version      varchar not null,
    title             varchar,
    default_language  varchar,
    languages         varchar[],
    source_kind       varchar not null,   -- xlsform, spss, csv
    file_name         varchar,
    sha256            varchar,
    batch_id          integer,
    loaded_at         timestamp not null
);

-- one row per form version and question (labels per language in a map)
create table if not exists stg_codebook__questions (
    form_id          varchar not null,
    form_version     varchar not null,
    position         integer not null,
    question         varchar not null,   -- XML path (group/question) or source variable name
    name             varchar not null,
    type             varchar not null,   -- XLSForm short type: select_one, integer, text, ...
    list_name        varchar,
    group_path       varchar,
    repeat_path      varchar,            -- the repeat group the question belongs to, if any
    required         boolean not null,
    relevant         varchar,
    constraint_expr  varchar,
    is_personal      boolean not null,   -- its values never reach the warehouse
    personal_reason  varchar,
    labels           map(varchar, varchar),
    batch_id         integer
);

-- one row per form version, choice list and choice
create table if not exists stg_codebook__choices (
    form_id       varchar not null,
    form_version  varchar not null,
    list_name     varchar not null,
    position      integer not null,
    choice        varchar not null,
    labels        map(varchar, varchar),
    batch_id      integer
);

-- one row per submission row of every loaded export (a re-export or an edit adds a new row;
-- is_current marks the version that counts)
create table if not exists stg_survey__submissions (
    submission_id      bigint not null,
    batch_id           integer not null,
    form_id            varchar not null,
    form_version       varchar,
    wave               varchar not null,
    target             varchar,            -- unused (NULL): forms keep their own questions
    respondent_key     varchar not null,   -- keyed pseudonym of _uuid (= meta/instanceID), or the source's id
    source_sheet       varchar,
    source_row         bigint,
    source_index       bigint,             -- Kobo _index: what repeat rows point to
    submitted_at       timestamp,
    validation_status  varchar,
    kobo_version       varchar,            -- Kobo's __version__ (the deployed form version)
    content_hash       varchar,            -- set when another version of the submission arrives
    is_current         boolean not null
);

-- one row per loaded submission row and question (municipality answers stored as ids, link
-- codes as keyed pseudonyms)
create table if not exists stg_survey__answers (
    submission_id  bigint not null,
    question       varchar not null,
    value          varchar
);

-- one row per repeat-group instance and question (nested repeats point to their parent row)
create table if not exists stg_survey__repeat_rows (
    submission_id  bigint not null,
    batch_id       integer not null,   -- the file the row came from (a repeat table may be its own file)
    repeat_path    varchar not null,
    row_index      bigint not null,    -- the instance's _index in its repeat table
    parent_path    varchar,            -- NULL when the parent is the submission itself
    parent_index   bigint not null,    -- _index of the parent row (the submission's for top level)
    source_sheet   varchar,
    source_row     bigint,
    question       varchar not null,
    value          varchar
);

-- one row per submission version that replaced another (same _uuid, same form and wave)
create table if not exists survey_replacements (
    form_id            varchar not null,
    wave               varchar not null,
    respondent_key     varchar not null,
    old_submission_id  bigint not null,
    new_submission_id  bigint not null,
    old_batch_id       integer not null,
    new_batch_id       integer not null,
    old_submitted_at   timestamp,
    new_submitted_at   timestamp,
    replaced_at        timestamp not null
);

-- marts: one row per form version and question; label in the default language, English, Bosnian
create table if not exists codebook_questions (
    form_id          varchar not null,
    form_version     varchar not null,
    position         integer not null,
    question         varchar not null,
    name             varchar not null,
    type             varchar not null,
    list_name        varchar,
    group_path       varchar,
    repeat_path      varchar,
    required         boolean not null,
    relevant         varchar,
    constraint_expr  varchar,
    is_personal      boolean not null,
    personal_reason  varchar,
    label            varchar,
    label_en         varchar,
    label_bs         varchar,
    labels           map(varchar, varchar)
);

-- marts: one row per form version, choice list and choice
create table if not exists codebook_choices (
    form_id       varchar not null,
    form_version  varchar not null,
    list_name     varchar not null,
    position      integer not null,
    choice        varchar not null,
    label         varchar,
    label_en      varchar,
    label_bs      varchar,
    labels        map(varchar, varchar)
);
