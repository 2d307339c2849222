-- one row per respondent per wave (citizen survey), 1:1 with respondents by (respondent_key, wave)
with citizen as (
    select * from int_survey__citizen_respondents
),

final as (
    select
        respondent_key, wave,
        trust_municipality, trust_csw, trust_employment, trust_health, trust_mental_health,
        trust_schools, views_considered, satisfaction_social, dialogue_participation,
        trust_other_entity, contact_neighbour, contact_colleague, contact_friend, contact_in_law,
        education, employment, displacement, form_id, batch_id
    from citizen
)

select * from final
