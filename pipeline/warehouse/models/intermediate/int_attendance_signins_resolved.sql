-- one row per sign-in, with the key of the person it is (age-only rows and reviewer links resolved)
with signins as (
    select * from stg_attendance__signins
),

links as (
    select * from person_links
),

-- people whose birth year a sheet stated (as a year or a date), not worked out from an age
anchored as (
    select distinct person_key from signins where birth_source <> 'age'
),

-- an age at an event fits two birth years; take the one a stated birth year confirms
resolved as (
    select
        signins.*,
        case
            when signins.alt_person_key is null then signins.person_key
            when primary_anchor.person_key is not null then signins.person_key
            when alt_anchor.person_key is not null then signins.alt_person_key
            else signins.person_key
        end as resolved_key
    from signins
    left join anchored primary_anchor on primary_anchor.person_key = signins.person_key
    left join anchored alt_anchor on alt_anchor.person_key = signins.alt_person_key
),

final as (
    select
        coalesce(links.canonical_key, resolved.resolved_key) as person_key,
        resolved.event_id,
        resolved.sex,
        resolved.birth_source,
        resolved.age_at_event,
        resolved.role,
        resolved.batch_id,
        resolved.sheet,
        resolved.source_row
    from resolved
    left join links on links.person_key = resolved.resolved_key
)

select * from final
