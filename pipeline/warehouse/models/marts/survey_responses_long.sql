-- one row per respondent per question, any form (current versions only; NULL = not answered)
with submissions as (
    select * from stg_survey__submissions
    where is_current
),

answers as (
    select * from stg_survey__answers
),

citizen as (
    select
        submission_id,
        columns(* exclude (submission_id))::varchar
    from stg_survey__citizen
),

youth as (
    select
        submission_id,
        columns(* exclude (submission_id))::varchar
    from stg_survey__youth
),

canonical as (
    select submission_id, question, value
    from citizen unpivot include nulls (value for question in (columns(* exclude submission_id)))
    union all
    select submission_id, question, value
    from youth unpivot include nulls (value for question in (columns(* exclude submission_id)))
),

final as (
    select s.form_id, s.form_version, s.wave, s.respondent_key, a.question, a.value, s.batch_id
    from submissions as s
    join (select * from answers union all select * from canonical) as a
        on a.submission_id = s.submission_id
)

select * from final
