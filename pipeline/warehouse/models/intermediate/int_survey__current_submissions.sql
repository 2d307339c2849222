-- one row per form, wave and respondent: the version of the submission that counts
-- (a later edit or re-export replaces an earlier one; see survey_replacements)
with submissions as (
    select * from stg_survey__submissions
),

final as (
    select * from submissions
    where is_current
)

select * from final
