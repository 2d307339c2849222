-- one row per undecided pair of person keys that may be one person, with what tells them
-- apart (birth years, sex, municipality, the events each attended): `spsc review persons`
with pairs as (
    select * from int_participants_review_pairs
),
paired_keys as (
    select person_key_a as person_key from pairs
    union
    select person_key_b from pairs
),
signins as (
    select person_key, event_id, sex
    from int_attendance_signins_resolved
    semi join paired_keys using (person_key)
),
people as (
    select
        person_key,
        mode(sex) as sex,
        string_agg(distinct event_id, ' ' order by event_id) as event_ids
    from signins
    group by person_key
),
registry as (
    select person_key, birth_year, muni_id from person_registry
),
final as (
    select
        pairs.person_key_a,
        pairs.person_key_b,
        pairs.rules,
        ra.muni_id,
        ra.birth_year as birth_year_a,
        rb.birth_year as birth_year_b,
        pa.sex as sex_a,
        pb.sex as sex_b,
        pa.event_ids as events_a,
        pb.event_ids as events_b
    from pairs
    join registry ra on ra.person_key = pairs.person_key_a
    join registry rb on rb.person_key = pairs.person_key_b
    left join people pa on pa.person_key = pairs.person_key_a
    left join people pb on pb.person_key = pairs.person_key_b
    order by ra.muni_id, pairs.person_key_a, pairs.person_key_b
)
select * from final
