-- the current submissions of form $form_id, wave $wave, of the respondents in conflict
-- (_spsc_conflicts), with their stored content hashed (answers and repeat rows, without ids
-- or batch numbers) and ranked: the latest submission time, then the latest batch, then the
-- last row counts
with candidates as (
    select s.submission_id, s.batch_id, s.respondent_key, s.submitted_at, s.source_row
    from stg_survey__submissions as s
    semi join _spsc_conflicts as c on c.respondent_key = s.respondent_key
    where s.form_id = $form_id and s.wave = $wave and s.is_current
),

answer_hashes as (
    select submission_id,
        md5(string_agg(question || '=' || coalesce(value, chr(0)), chr(31) order by question)) as h
    from stg_survey__answers
    semi join candidates using (submission_id)
    group by submission_id
),

repeat_hashes as (
    select submission_id,
        md5(string_agg(repeat_path || '/' || question || '=' || coalesce(value, chr(0)), chr(31)
            order by repeat_path, row_index, question)) as h
    from stg_survey__repeat_rows
    semi join candidates using (submission_id)
    group by submission_id
),

hashes as (
    select c.submission_id, md5(coalesce(string_agg(u.h, '|' order by u.part), '')) as content_hash
    from candidates as c
    left join (
        select submission_id, 0 as part, h from answer_hashes
        union all
        select submission_id, 1 as part, h from repeat_hashes
    ) as u using (submission_id)
    group by c.submission_id
),

final as (
    select c.*, h.content_hash,
        row_number() over (partition by c.respondent_key
            order by c.submitted_at desc nulls last, c.batch_id desc, c.source_row desc) as rank
    from candidates as c
    join hashes as h using (submission_id)
)

select * from final
