-- record the content hash of every ranked submission (_spsc_ranked), and keep only the
-- version that counts current
update stg_survey__submissions as s
set content_hash = r.content_hash, is_current = r.rank = 1
from _spsc_ranked as r
where s.submission_id = r.submission_id
