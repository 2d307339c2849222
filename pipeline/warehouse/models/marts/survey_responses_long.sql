-- one row per respondent per question, any form (current versions only; NULL = not answered)
with submissions as (
    select * from stg_survey__submissions
    where is_current
),

answers as (
    select * from stg_survey__answers
),

final as (
    select s.form_id, s.form_version, s.wave, s.respondent_key, a.question, a.value, s.batch_id
    from submissions as s
    join answers as a on a.submission_id = s.submission_id
)

select * from final
