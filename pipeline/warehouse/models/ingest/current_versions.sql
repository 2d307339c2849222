-- after a batch was replaced: the current version of each respondent of form $form_id in
-- wave $wave anew: the latest submission time, then the latest batch, then the last row
update stg_survey__submissions as s
set is_current = r.rank = 1
from (
    select submission_id,
        row_number() over (partition by respondent_key
            order by submitted_at desc nulls last, batch_id desc, source_row desc) as rank
    from stg_survey__submissions
    where form_id = $form_id and wave = $wave
) as r
where s.submission_id = r.submission_id
