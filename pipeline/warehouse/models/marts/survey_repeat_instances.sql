-- one row per repeat-group instance (current submissions only), whether or not any of its
-- answers is stored: a household member whose only answer was a name still counts
with submissions as (
    select * from stg_survey__submissions
    where is_current
),

instances as (
    select * from stg_survey__repeat_instances
),

final as (
    select
        s.form_id, s.form_version, s.wave, s.respondent_key, i.repeat_path, i.row_index,
        i.parent_path, i.parent_index, i.batch_id, s.batch_id as submission_batch_id
    from instances as i
    join submissions as s on s.submission_id = i.submission_id
)

select * from final
