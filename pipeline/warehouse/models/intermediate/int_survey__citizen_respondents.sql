-- one row per consenting citizen-survey respondent per wave (current version only)
with submissions as (
    select * from int_survey__current_submissions
    where target = 'citizen'
),

staged as (
    select * from stg_survey__citizen
),

municipalities as (
    select muni_id, entity from ref_municipalities
),

joined as (
    select
        staged.*,
        submissions.respondent_key,
        submissions.form_id,
        submissions.form_version,
        submissions.wave,
        submissions.batch_id,
        submissions.submitted_at,
        municipalities.entity,
        survey_age_group(staged.age) as age_group,
        string_split(staged.contact_willing, ' ') as contact_choices
    from staged
    join submissions on submissions.submission_id = staged.submission_id
    left join municipalities on municipalities.muni_id = staged.muni_id
    -- a refusal is not a respondent; sources without a consent question count as consenting
    where coalesce(staged.consent, 'yes') = 'yes'
),

final as (
    select
        *,
        -- a skipped question stays unknown (NULL), an answer without the choice is false
        case when contact_willing is not null then list_contains(contact_choices, 'neighbour') end
            as contact_neighbour,
        case when contact_willing is not null then list_contains(contact_choices, 'colleague') end
            as contact_colleague,
        case when contact_willing is not null then list_contains(contact_choices, 'friend') end
            as contact_friend,
        case when contact_willing is not null then list_contains(contact_choices, 'in_law') end
            as contact_in_law
    from joined
)

select * from final
