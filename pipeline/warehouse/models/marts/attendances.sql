-- one row per person per event
with attendances as (
    select * from int_attendances_deduplicated
),

final as (
    select
        person_key,
        event_id,
        quarter,
        age_at_event,
        is_youth,
        role,
        batch_id,
        date,
        n_signins
    from attendances
)

select * from final
