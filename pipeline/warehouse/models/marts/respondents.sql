-- one row per respondent per wave per form (current version; refusals left out), with the
-- roles the project's form settings declare: built by `spsc build`, which registers the
-- settings as seed_form_roles (form_id, role, question), seed_recodes (form_id, question, raw,
-- value) and seed_municipality_names (raw, muni_id: every spelling found, resolved)
with submissions as (
    select * from int_survey__current_submissions
),

roles as (
    select * from seed_form_roles
),

role_answers as (
    select
        s.submission_id,
        r.role,
        -- a recode to NULL makes the answer missing; values without a recode pass unchanged
        case when rc.raw is not null then rc.value else a.value end as value
    from submissions as s
    join roles as r on r.form_id = s.form_id
    join stg_survey__answers as a on a.submission_id = s.submission_id and a.question = r.question
    left join seed_recodes as rc
        on rc.form_id = s.form_id and rc.question = r.question and rc.raw = a.value
),

pivoted as (
    select
        submission_id,
        max(value) filter (where role = 'municipality') as municipality,
        max(value) filter (where role = 'sex') as sex,
        max(value) filter (where role = 'age') as age,
        max(value) filter (where role = 'birth_year') as birth_year,
        max(value) filter (where role = 'weight') as weight,
        max(value) filter (where role = 'stratum') as stratum,
        max(value) filter (where role = 'psu') as psu,
        max(value) filter (where role = 'ssu') as ssu,
        max(value) filter (where role = 'fpc') as fpc,
        max(value) filter (where role = 'fpc2') as fpc2,
        max(value) filter (where role = 'link') as link_key,
        max(value) filter (where role = 'phase') as phase,
        max(value) filter (where role = 'consent') as consent
    from role_answers
    group by submission_id
),

consent_forms as (
    select distinct form_id from roles where role = 'consent'
),

joined as (
    select
        s.*,
        p.* exclude (submission_id),
        c.form_id is not null as asks_consent,
        names.muni_id,
        ref.entity,
        try_cast(try_cast(p.age as double) as integer) as age_answered,
        try_cast(try_cast(p.birth_year as double) as integer) as birth_year_answered
    from submissions as s
    left join pivoted as p on p.submission_id = s.submission_id
    left join consent_forms as c on c.form_id = s.form_id
    left join seed_municipality_names as names on names.raw = p.municipality
    left join ref_municipalities as ref on ref.muni_id = names.muni_id
),

final as (
    select
        respondent_key,
        form_id,
        form_version,
        wave,
        muni_id,
        entity,
        lower(trim(sex)) as sex,
        -- a birth year gives the age reached in the year of the wave
        coalesce(age_answered, cast(left(wave, 4) as integer) - birth_year_answered) as age,
        survey_age_group(coalesce(age_answered, cast(left(wave, 4) as integer) - birth_year_answered))
            as age_group,
        try_cast(weight as double) as weight,
        stratum,
        psu,
        ssu,
        try_cast(fpc as double) as fpc,
        try_cast(fpc2 as double) as fpc2,
        link_key,
        lower(trim(phase)) as phase,
        batch_id,
        submitted_at
    from joined
    -- a form that asks for consent counts only those who gave it (an unanswered consent counts)
    where not asks_consent or consent is null
        or lower(trim(consent)) in ('yes', 'true', '1', 'da', 'да')
)

select * from final
