-- Reference tables, filled from the package's CSVs by `spsc init`.

-- one row per municipality of the 2013 frame
create table if not exists ref_municipalities (
    muni_id         varchar primary key,
    name            varchar not null,
    name_cyr        varchar not null,
    entity          varchar not null,   -- FBiH, RS, BD
    canton          varchar,
    canton_bs       varchar,
    is_project      boolean not null,
    geo_shape_id    varchar not null,   -- geoBoundaries ADM3 shapeID: the only join to polygons
    geo_shape_name  varchar not null
);

-- one row per municipality, sex and age group stated by the 2013 census
create table if not exists ref_census (
    muni_id     varchar not null,
    sex         varchar not null,
    age_group   varchar not null,
    population  bigint not null,
    source      varchar not null
);
