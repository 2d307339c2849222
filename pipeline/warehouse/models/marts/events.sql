-- one row per event
with events as (
    select * from int_events_latest
),

attendances as (
    select * from int_attendances_deduplicated
),

turnout as (
    select
        event_id,
        count(*) as n_participants,
        count(*) filter (where is_youth) as n_young,
        count(*) filter (where entity = 'FBiH') as n_fbih,
        count(*) filter (where entity = 'RS') as n_rs,
        sum(n_signins) as n_signins
    from attendances
    group by event_id
),

final as (
    select
        events.event_id,
        events.date,
        events.quarter,
        events.muni_ids,
        events.muni_id,
        events.entity,
        events.event_type,
        events.is_youth_event,
        -- inter-entity: residents of both entities, at least this many from each side
        coalesce(turnout.n_fbih, 0) >= getvariable('inter_entity_min_per_side')
            and coalesce(turnout.n_rs, 0) >= getvariable('inter_entity_min_per_side')
            as is_inter_entity,
        coalesce(turnout.n_participants, 0) as n_participants,
        events.batch_id,
        events.title,
        events.organiser,
        coalesce(turnout.n_young, 0) as n_young,
        coalesce(turnout.n_fbih, 0) as n_fbih,
        coalesce(turnout.n_rs, 0) as n_rs,
        coalesce(turnout.n_signins, 0) as n_signins,
        coalesce(turnout.n_signins - turnout.n_participants, 0) as n_duplicates
    from events
    left join turnout on turnout.event_id = events.event_id
)

select * from final
