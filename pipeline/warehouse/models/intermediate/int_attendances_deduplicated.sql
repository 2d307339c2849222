-- one row per person per event: repeated sign-ins of one person at one event collapsed
with signins as (
    select * from int_attendance_signins_resolved
),

registry as (
    select * from person_registry
),

municipalities as (
    select muni_id, entity from ref_municipalities
),

events as (
    select event_id, date, quarter from int_events_latest
),

collapsed as (
    select
        signins.person_key,
        signins.event_id,
        arg_min(signins.age_at_event, (signins.batch_id, signins.sheet, signins.source_row)) as age_at_event,
        arg_min(signins.sex, (signins.batch_id, signins.sheet, signins.source_row)) as sex,
        arg_min(signins.role, (signins.batch_id, signins.sheet, signins.source_row)) as role,
        min(signins.batch_id) as batch_id,
        count(*) as n_signins
    from signins
    group by signins.person_key, signins.event_id
),

final as (
    select
        collapsed.person_key,
        collapsed.event_id,
        events.quarter,
        events.date,
        collapsed.age_at_event,
        collapsed.age_at_event between getvariable('youth_min_age') and getvariable('youth_max_age')
            as is_youth,
        collapsed.sex,
        collapsed.role,
        registry.birth_year,
        registry.muni_id,
        municipalities.entity,
        collapsed.batch_id,
        collapsed.n_signins
    from collapsed
    join events on events.event_id = collapsed.event_id
    join registry on registry.person_key = collapsed.person_key
    join municipalities on municipalities.muni_id = registry.muni_id
)

select * from final
