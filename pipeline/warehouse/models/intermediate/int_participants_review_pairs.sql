-- one row per pair of person keys that may be one person: listed for review, never linked automatically
with registry as (
    select person_key, birth_year, muni_id from person_registry
),

active as (
    select distinct person_key from int_attendance_signins_resolved
),

signatures as (
    select
        person_signatures.person_key,
        person_signatures.kind,
        person_signatures.sig,
        registry.birth_year,
        registry.muni_id
    from person_signatures
    join registry on registry.person_key = person_signatures.person_key
    semi join active on active.person_key = person_signatures.person_key
),

whole_names as (
    select * from signatures where kind = 'F'
),

dj_collapsed as (
    select * from signatures where kind = 'D'
),

-- each person's name less one letter (the deletions are stored once per distinct name)
shortened as (
    select whole_names.person_key, whole_names.birth_year, whole_names.muni_id, name_deletions.sig
    from whole_names
    join name_deletions on name_deletions.name_sig = whole_names.sig
),

-- same name and municipality, birth years one apart (an age written instead of a year does this)
year_apart as (
    select a.person_key as key_a, b.person_key as key_b, 'birth_year_off_by_one' as rule
    from whole_names a
    join whole_names b
        on a.sig = b.sig and a.muni_id = b.muni_id and b.birth_year = a.birth_year + 1
),

-- one letter replaced (or two neighbours swapped): both names less one letter agree
replaced as (
    select distinct a.person_key as key_a, b.person_key as key_b, 'one_letter_apart' as rule
    from shortened a
    join shortened b
        on a.sig = b.sig and a.birth_year = b.birth_year and a.muni_id = b.muni_id
        and a.person_key < b.person_key
),

-- one letter added or left out: the shorter name is the longer one less a letter
inserted as (
    select a.person_key as key_a, b.person_key as key_b, 'one_letter_apart' as rule
    from whole_names a
    join shortened b
        on a.sig = b.sig and a.birth_year = b.birth_year and a.muni_id = b.muni_id
        and a.person_key <> b.person_key
),

dj_as_d as (
    select a.person_key as key_a, b.person_key as key_b, 'dj_written_as_d' as rule
    from dj_collapsed a
    join dj_collapsed b
        on a.sig = b.sig and a.birth_year = b.birth_year and a.muni_id = b.muni_id
        and a.person_key < b.person_key
),

candidates as (
    select least(key_a, key_b) as person_key_a, greatest(key_a, key_b) as person_key_b, rule
    from (
        select * from year_apart
        union all select * from replaced
        union all select * from inserted
        union all select * from dj_as_d
    )
),

decided as (
    select person_key_a, person_key_b from person_decisions
),

final as (
    select
        candidates.person_key_a,
        candidates.person_key_b,
        string_agg(distinct candidates.rule, ', ' order by candidates.rule) as rules
    from candidates
    anti join decided
        on decided.person_key_a = candidates.person_key_a
        and decided.person_key_b = candidates.person_key_b
    group by candidates.person_key_a, candidates.person_key_b
)

select * from final
