-- one row per loaded submission row and question, with the cleaning logs' applied decisions:
-- change_response gives the new value, blank_response empties the answer (staging keeps the
-- answer as loaded; cleaning_effects is refreshed at every load and build)
with answers as (
    select * from stg_survey__answers
),

changes as (
    select submission_id, question, new_value, has_answer
    from cleaning_effects
    where status = 'applied' and change_type in ('change_response', 'blank_response')
),

changed as (
    select
        a.submission_id,
        a.question,
        case when c.submission_id is null then a.value else c.new_value end as value
    from answers as a
    left join changes as c on c.submission_id = a.submission_id and c.question = a.question
),

-- an answer staging has no row for (a question the export lacked) gets one
added as (
    select submission_id, question, new_value as value
    from changes
    where not has_answer and new_value is not null
),

final as (
    select * from changed
    union all
    select * from added
)

select * from final
