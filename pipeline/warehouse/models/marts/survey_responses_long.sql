-- one row per respondent per question, any form (current versions only; NULL = not answered;
-- missing_code: the code the source declared missing, e.g. 98 = refused, 99 = don't know)
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

missing_codes as (
    select * from stg_survey__missing_codes
),

final as (
    select
        s.form_id, s.form_version, s.wave, s.respondent_key, a.question, a.value, s.batch_id,
        m.code as missing_code
    from submissions as s
    join (select * from answers union all select * from canonical) as a
        on a.submission_id = s.submission_id
    left join missing_codes as m
        on m.submission_id = a.submission_id and m.question = a.question
)

select * from final
