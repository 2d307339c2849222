-- Attendance: events lists, sign-in sheets, the participant registry and the attendance marts.
-- No name, phone, e-mail, signature or exact birth date is stored anywhere: people are keyed
-- pseudonyms (HMAC with the local secret) of normalised name, birth year and municipality.

-- one row per event per loaded events-list file (the latest loaded file wins in the models)
create table if not exists raw_events (
    batch_id     integer not null,
    sheet        varchar not null,
    source_row   bigint not null,
    event_id     varchar not null,
    event_date   date not null,
    muni_ids     varchar[] not null,   -- host first, then the other municipalities of a joint event
    event_type   varchar not null,
    organiser    varchar,
    title        varchar
);

-- one row per loaded sign-in (a row of a sign-in sheet); duplicates are removed in the models
create table if not exists raw_signins (
    batch_id      integer not null,
    sheet         varchar not null,
    source_row    bigint not null,
    event_id      varchar not null,
    person_key    varchar not null,   -- keyed pseudonym of (normalised name, birth year, municipality)
    alt_person_key varchar,           -- when only an age was given: the key with the birth year one earlier
    sex           varchar not null,   -- male, female
    birth_year    integer not null,
    birth_source  varchar not null,   -- year, date or age: what the sheet gave
    age_at_event  integer not null,   -- exact when the sheet gave a date, else year difference
    muni_id       varchar not null,   -- municipality of residence
    role          varchar             -- young_person, student, teacher, professional, municipal_official, citizen, cso, other
);

-- one row per person key ever seen: what the key was made of, minus the name
create table if not exists person_registry (
    person_key      varchar primary key,
    birth_year      integer not null,
    muni_id         varchar not null,
    first_batch_id  integer not null
);

-- one row per person per name signature (keyed hashes that reveal equal names, not names)
create table if not exists person_signatures (
    person_key  varchar not null,
    kind        varchar not null,   -- F the whole normalised name, D the same with dj written d
    sig         ubigint not null
);

-- one row per distinct name (its F signature) per one-letter deletion of it (keyed hash)
create table if not exists name_deletions (
    name_sig  ubigint not null,
    sig       ubigint not null
);

-- one row per pair of person keys a reviewer decided on (spsc review persons)
create table if not exists person_decisions (
    person_key_a  varchar not null,   -- a < b
    person_key_b  varchar not null,
    decision      varchar not null,   -- same, different
    decided_at    timestamp not null,
    primary key (person_key_a, person_key_b)
);

-- one row per person key merged into another by a reviewer's 'same' decisions
create table if not exists person_links (
    person_key     varchar primary key,
    canonical_key  varchar not null
);

-- marts (rebuilt from the models after every attendance or events load)

-- one row per event
create table if not exists events (
    event_id          varchar not null,
    date              date not null,
    quarter           varchar not null,
    muni_ids          varchar[] not null,
    muni_id           varchar not null,   -- host: the first municipality listed
    entity            varchar not null,   -- entity of the host
    event_type        varchar not null,
    is_youth_event    boolean not null,
    is_inter_entity   boolean not null,
    n_participants    integer not null,
    batch_id          integer not null,   -- events-list batch the row comes from
    title             varchar,
    organiser         varchar,
    n_young           integer not null,
    n_fbih            integer not null,
    n_rs              integer not null,
    n_signins         integer not null,
    n_duplicates      integer not null
);

-- one row per pseudonymous person
create table if not exists participants (
    person_key          varchar not null,
    sex                 varchar not null,
    birth_year          integer not null,
    age_group           varchar not null,   -- at the first activity attended
    muni_id             varchar not null,
    entity              varchar not null,
    n_events            integer not null,
    n_events_as_youth   integer not null,
    first_event_date    date not null,
    last_event_date     date not null
);

-- one row per person per event
create table if not exists attendances (
    person_key     varchar not null,
    event_id       varchar not null,
    quarter        varchar not null,
    age_at_event   integer not null,
    is_youth       boolean not null,
    role           varchar,
    batch_id       integer not null,   -- first batch the person signed this event in
    date           date not null,
    n_signins      integer not null    -- 2 or more: duplicates removed here
);

-- one row per pair of municipalities per period (a quarter or 'cumulative')
create table if not exists cross_entity_ties (
    period      varchar not null,
    muni_id_a   varchar not null,   -- muni_id_a < muni_id_b
    muni_id_b   varchar not null,
    entity_a    varchar not null,
    entity_b    varchar not null,
    n_ties      bigint not null     -- distinct pairs of young people, one from each entity, at a shared activity
);
