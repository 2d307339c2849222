-- one row per youth participant per wave and phase (pre/post)
with youth as (
    select * from int_survey__youth_respondents
),

final as (
    select
        participant_key, wave, phase, muni_id, entity, sex, age, age_group, activity_type,
        att_1, att_2, att_3, att_4, eff_1, eff_2, eff_3, attitude_score, batch_id,
        respondent_key, submitted_at
    from youth
)

select * from final
