-- one row per pair of municipalities per period (a quarter or 'cumulative')
with young as (
    select person_key, event_id, quarter, muni_id, entity
    from int_attendances_deduplicated
    where is_youth and entity in ('FBiH', 'RS')
),

-- a tie: a young person from each entity at the same activity
ties as (
    select distinct
        fbih.quarter,
        fbih.person_key as key_fbih,
        rs.person_key as key_rs,
        fbih.muni_id as muni_fbih,
        rs.muni_id as muni_rs
    from young fbih
    join young rs on rs.event_id = fbih.event_id and rs.entity = 'RS'
    where fbih.entity = 'FBiH'
),

-- a pair counts once per period, however many activities they shared
per_period as (
    select quarter as period, key_fbih, key_rs, muni_fbih, muni_rs from ties
    union all
    select distinct 'cumulative' as period, key_fbih, key_rs, muni_fbih, muni_rs from ties
),

final as (
    select
        period,
        least(muni_fbih, muni_rs) as muni_id_a,
        greatest(muni_fbih, muni_rs) as muni_id_b,
        case when muni_fbih < muni_rs then 'FBiH' else 'RS' end as entity_a,
        case when muni_fbih < muni_rs then 'RS' else 'FBiH' end as entity_b,
        count(*) as n_ties
    from per_period
    group by all
    order by period, muni_id_a, muni_id_b
)

select * from final
