-- one row per pseudonymous person who attended at least one event
with attendances as (
    select * from int_attendances_deduplicated
),

sexes as (
    select person_key, sex, count(*) as n
    from attendances
    group by person_key, sex
),

-- a person is the sex most of their sign-ins say
sex_of_person as (
    select person_key, arg_max(sex, (n, sex)) as sex
    from sexes
    group by person_key
),

per_person as (
    select
        person_key,
        any_value(birth_year) as birth_year,
        any_value(muni_id) as muni_id,
        any_value(entity) as entity,
        arg_min(age_at_event, (date, event_id)) as first_age,
        count(*) as n_events,
        count(*) filter (where is_youth) as n_events_as_youth,
        min(date) as first_event_date,
        max(date) as last_event_date
    from attendances
    group by person_key
),

final as (
    select
        per_person.person_key,
        sex_of_person.sex,
        per_person.birth_year,
        attendance_age_group(per_person.first_age) as age_group,
        per_person.muni_id,
        per_person.entity,
        per_person.n_events,
        per_person.n_events_as_youth,
        per_person.first_event_date,
        per_person.last_event_date
    from per_person
    join sex_of_person on sex_of_person.person_key = per_person.person_key
)

select * from final
