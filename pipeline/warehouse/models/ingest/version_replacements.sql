-- the versions replaced by different content (_spsc_ranked: rank > 1 against rank 1), for
-- survey_replacements
select
    $form_id as form_id,
    $wave as wave,
    l.respondent_key,
    l.submission_id as old_submission_id,
    w.submission_id as new_submission_id,
    l.batch_id as old_batch_id,
    w.batch_id as new_batch_id,
    l.submitted_at as old_submitted_at,
    w.submitted_at as new_submitted_at,
    cast($now as timestamp) as replaced_at
from _spsc_ranked as l
join _spsc_ranked as w on w.respondent_key = l.respondent_key and w.rank = 1
where l.rank > 1 and l.content_hash <> w.content_hash
