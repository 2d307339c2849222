-- one row per repeat-group instance and question (current submissions only); row_index and
-- parent_index link nested repeats within a load batch
with submissions as (
    select * from stg_survey__submissions
    where is_current
),

repeat_rows as (
    select * from stg_survey__repeat_rows
),

final as (
    select
        s.form_id, s.form_version, s.wave, s.respondent_key, r.repeat_path, r.row_index,
        r.parent_path, r.parent_index, r.question, r.value, r.batch_id,
        s.batch_id as submission_batch_id
    from repeat_rows as r
    join submissions as s on s.submission_id = r.submission_id
)

select * from final
