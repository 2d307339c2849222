-- one row per sign-in of a loaded attendance batch (duplicates still in)
with source as (
    select * from raw_signins
),

loaded_batches as (
    select batch_id from load_batches where kind = 'attendance' and status = 'loaded'
),

final as (
    select
        source.batch_id,
        source.sheet,
        source.source_row,
        source.event_id,
        source.person_key,
        source.alt_person_key,
        source.sex,
        source.birth_year,
        source.birth_source,
        source.age_at_event,
        source.muni_id,
        source.role
    from source
    semi join loaded_batches on loaded_batches.batch_id = source.batch_id
)

select * from final
