-- one row per respondent per wave per form (current version of each submission)
with citizen as (
    select * from int_survey__citizen_respondents
),

youth as (
    select * from int_survey__youth_respondents
),

final as (
    select
        respondent_key, form_id, wave, muni_id, entity, sex, age, age_group, urban_rural,
        weight, stratum, psu, fpc, batch_id, submitted_at, form_version
    from citizen
    union all
    select
        respondent_key, form_id, wave, muni_id, entity, sex, age, age_group,
        null as urban_rural, null as weight, null as stratum, null as psu, null as fpc,
        batch_id, submitted_at, form_version
    from youth
)

select * from final
