-- Surveys of any form: questions keep their own names (stg_survey__answers); a project's form
-- settings say which questions play a role. The closed per-instrument tables of earlier
-- schemas are gone, and `respondents` is rebuilt by `spsc build` from the form settings.
drop table if exists stg_survey__citizen;
drop table if exists stg_survey__youth;
drop table if exists citizen_responses;
drop table if exists youth_responses;
drop table if exists respondents;

-- marts: one row per respondent per wave per form (current version; refusals left out), with
-- the roles the project's form settings declare; design columns NULL = not declared
create table if not exists respondents (
    submission_id   bigint not null,   -- the current submission (stg_survey__submissions)
    respondent_key  varchar not null,
    form_id         varchar not null,
    form_version    varchar,
    wave            varchar not null,
    muni_id         varchar,
    entity          varchar,
    sex             varchar,
    age             integer,
    age_group       varchar,
    weight          double,     -- NULL: no design declared (simple random sample, weight 1)
    stratum         varchar,
    psu             varchar,
    ssu             varchar,
    fpc             double,
    fpc2            double,
    link_key        varchar,    -- keyed pseudonym of a pre/post form's participant code
    phase           varchar,    -- pre or post (pre/post forms)
    batch_id        integer,
    submitted_at    timestamp
);
