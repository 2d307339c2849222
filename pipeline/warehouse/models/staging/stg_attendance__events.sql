-- one row per event per loaded events-list batch
with source as (
    select * from raw_events
),

loaded_batches as (
    select batch_id from load_batches where kind = 'events' and status = 'loaded'
),

final as (
    select
        source.event_id,
        source.event_date,
        source.muni_ids,
        source.muni_ids[1] as host_muni_id,
        source.event_type,
        source.organiser,
        source.title,
        source.batch_id,
        source.source_row
    from source
    semi join loaded_batches on loaded_batches.batch_id = source.batch_id
)

select * from final
