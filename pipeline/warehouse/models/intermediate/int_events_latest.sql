-- one row per event: as the latest loaded events list describes it
with events as (
    select * from stg_attendance__events
),

municipalities as (
    select muni_id, entity from ref_municipalities
),

latest as (
    select *
    from events
    qualify row_number() over (partition by event_id order by batch_id desc, source_row) = 1
),

final as (
    select
        latest.event_id,
        latest.event_date as date,
        strftime(latest.event_date, '%Y') || 'Q' || quarter(latest.event_date) as quarter,
        latest.muni_ids,
        latest.host_muni_id as muni_id,
        municipalities.entity,
        latest.event_type,
        -- youth events are defined by their type (settings: YOUTH_EVENT_TYPES), not by who came
        list_contains(getvariable('youth_event_types'), latest.event_type) as is_youth_event,
        latest.title,
        latest.organiser,
        latest.batch_id
    from latest
    join municipalities on municipalities.muni_id = latest.host_muni_id
)

select * from final
