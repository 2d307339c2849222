-- one row per form, wave and respondent: the version of the submission that counts
-- (a later edit or re-export replaces an earlier one; see survey_replacements), less the
-- submissions a cleaning log removes (remove_survey: they stay in staging)
with submissions as (
    select * from stg_survey__submissions
),

removed as (
    select submission_id from cleaning_effects
    where status = 'applied' and change_type = 'remove_survey'
),

final as (
    select * from submissions
    where is_current
        and submission_id not in (select submission_id from removed)
)

select * from final
