-- one row per respondent per wave per form (current version; refusals left out), with the
-- roles the project's form settings declare: built by `spsc build`, which registers the role
-- answers of every current submission, recoded, as int_survey__respondent_roles, and every
-- municipality spelling among them, resolved, as seed_municipality_names (raw, muni_id)
with submissions as (
    select * from int_survey__current_submissions
),

roles as (
    select * from int_survey__respondent_roles
),

joined as (
    select
        s.*,
        r.* exclude (submission_id),
        names.muni_id,
        ref.entity,
        try_cast(try_cast(r.age as double) as integer) as age_answered,
        try_cast(try_cast(r.birth_year as double) as integer) as birth_year_answered
    from submissions as s
    join roles as r on r.submission_id = s.submission_id
    left join seed_municipality_names as names on names.raw = r.municipality
    left join ref_municipalities as ref on ref.muni_id = names.muni_id
),

final as (
    select
        submission_id,
        respondent_key,
        form_id,
        form_version,
        wave,
        muni_id,
        entity,
        lower(trim(sex)) as sex,
        -- a birth year gives the age reached in the year of the wave
        coalesce(age_answered, cast(left(wave, 4) as integer) - birth_year_answered) as age,
        -- the band of the form's population (spsc.yml age_groups, forms/<form_id>.yml population)
        age_group(coalesce(age_answered, cast(left(wave, 4) as integer) - birth_year_answered),
            form_population(form_id)) as age_group,
        try_cast(weight as double) as weight,
        stratum,
        psu,
        ssu,
        try_cast(fpc as double) as fpc,
        try_cast(fpc2 as double) as fpc2,
        link as link_key,
        lower(trim(phase)) as phase,
        batch_id,
        submitted_at
    from joined
    -- a form that asks for consent counts only those who gave it (an unanswered consent counts)
    where not asks_consent or consent is null
        or lower(trim(consent)) in ('yes', 'true', '1', 'da', 'да')
)

select * from final
