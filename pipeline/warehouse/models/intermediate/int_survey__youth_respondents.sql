-- one row per youth participant per wave and phase (current version; when a participant code
-- filled the same phase twice, the latest submission counts)
with submissions as (
    select * from int_survey__current_submissions
    where target = 'youth'
),

staged as (
    select * from stg_survey__youth
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
        submissions.source_row,
        municipalities.entity,
        survey_age_group(staged.age) as age_group,
        row_number() over (
            partition by staged.participant_key, submissions.wave, staged.phase
            order by submissions.submitted_at desc nulls last, submissions.batch_id desc,
                submissions.source_row desc
        ) as phase_rank
    from staged
    join submissions on submissions.submission_id = staged.submission_id
    left join municipalities on municipalities.muni_id = staged.muni_id
),

final as (
    select
        * exclude (phase_rank),
        -- mean of the attitude items answered (NULL when none is)
        list_avg(list_filter([att_1, att_2, att_3, att_4], lambda x: x is not null))
            as attitude_score
    from joined
    where phase_rank = 1
)

select * from final
