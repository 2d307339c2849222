-- one row per respondent per question, any form (current versions only, cleaning logs
-- applied, removed submissions left out; NULL = not answered; missing_code: the code the
-- source declared missing, e.g. 98 = refused, 99 = don't know)
with submissions as (
    select * from stg_survey__submissions
    where is_current
),

removed as (
    select submission_id from cleaning_effects
    where status = 'applied' and change_type = 'remove_survey'
),

answers as (
    select * from int_survey__answers_cleaned
),

missing_codes as (
    select * from stg_survey__missing_codes
),

final as (
    select
        s.form_id, s.form_version, s.wave, s.respondent_key, a.question, a.value, s.batch_id,
        m.code as missing_code
    from submissions as s
    join answers as a on a.submission_id = s.submission_id
    left join missing_codes as m
        on m.submission_id = a.submission_id and m.question = a.question
    where s.submission_id not in (select submission_id from removed)
)

select * from final
