-- one row per period (a quarter or 'cumulative'), dimension and dimension value
with attendances as (
    select * from int_attendances_deduplicated
),

people as (
    select person_key, sex, muni_id, entity from participants
),

hosted_events as (
    select quarter, muni_id, entity, is_youth_event, is_inter_entity from events
),

attendances_by_period as (
    select quarter as period, person_key, event_id, date, age_at_event, is_youth from attendances
    union all
    select 'cumulative' as period, person_key, event_id, date, age_at_event, is_youth from attendances
),

per_person as (
    select
        period,
        person_key,
        bool_or(is_youth) as is_young,
        count(*) filter (where is_youth) as n_youth_activities,
        -- the age group of a young person is the one of their first youth activity in the period
        coalesce(
            arg_min(age_at_event, (date, event_id)) filter (where is_youth),
            arg_min(age_at_event, (date, event_id))
        ) as age
    from attendances_by_period
    group by period, person_key
),

enriched as (
    select
        per_person.*,
        people.sex,
        people.muni_id,
        people.entity,
        attendance_age_group(per_person.age) as age_group
    from per_person
    join people on people.person_key = per_person.person_key
),

people_by_dimension as (
    select period, 'total' as dimension, 'total' as dimension_value, * exclude (period) from enriched
    union all
    select period, 'sex', sex, * exclude (period) from enriched
    union all
    select period, 'age_group', age_group, * exclude (period) from enriched
    union all
    select period, 'municipality', muni_id, * exclude (period) from enriched
    union all
    select period, 'entity', entity, * exclude (period) from enriched
),

people_measures as (
    select
        period,
        dimension,
        dimension_value,
        count(*) as n_participants,
        count(*) filter (where sex = 'female') as n_women,
        count(*) filter (where is_young) as n_young,
        count(*) filter (where is_young and sex = 'female') as n_young_women,
        count(*) filter (where n_youth_activities >= getvariable('sustained_min_events'))
            as n_young_sustained
    from people_by_dimension
    group by period, dimension, dimension_value
),

-- events are counted where they were hosted
youth_events as (
    select quarter, muni_id, entity, is_inter_entity from hosted_events where is_youth_event
),

youth_events_by_period as (
    select quarter as period, * exclude (quarter) from youth_events
    union all
    select 'cumulative' as period, * exclude (quarter) from youth_events
),

events_by_dimension as (
    select period, 'total' as dimension, 'total' as dimension_value, is_inter_entity
    from youth_events_by_period
    union all
    select period, 'municipality', muni_id, is_inter_entity from youth_events_by_period
    union all
    select period, 'entity', entity, is_inter_entity from youth_events_by_period
),

event_measures as (
    select
        period,
        dimension,
        dimension_value,
        count(*) as n_youth_events,
        count(*) filter (where is_inter_entity) as n_youth_events_inter_entity
    from events_by_dimension
    group by period, dimension, dimension_value
),

final as (
    select
        period,
        dimension,
        dimension_value,
        coalesce(people_measures.n_participants, 0) as n_participants,
        coalesce(people_measures.n_women, 0) as n_women,
        coalesce(people_measures.n_young, 0) as n_young,
        coalesce(people_measures.n_young_women, 0) as n_young_women,
        people_measures.n_young_women / nullif(people_measures.n_young, 0) as young_women_share,
        coalesce(people_measures.n_young_sustained, 0) as n_young_sustained,
        case when dimension in ('total', 'municipality', 'entity')
            then coalesce(event_measures.n_youth_events, 0) end as n_youth_events,
        case when dimension in ('total', 'municipality', 'entity')
            then coalesce(event_measures.n_youth_events_inter_entity, 0) end
            as n_youth_events_inter_entity,
        event_measures.n_youth_events_inter_entity / nullif(event_measures.n_youth_events, 0)
            as inter_entity_share
    from people_measures
    full outer join event_measures using (period, dimension, dimension_value)
    order by period, dimension, dimension_value
)

select * from final
