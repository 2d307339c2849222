-- one row per form version and question: type, skip logic, personal flag, labels, the codes its
-- source declares missing
with questions as (
    select * from stg_codebook__questions
),

forms as (
    select form_id, form_version, default_language from survey_forms
),

final as (
    select
        form_id, form_version, position, question, name, type, list_name, group_path,
        repeat_path, required, relevant, constraint_expr, is_personal, personal_reason, missing_codes,
        -- the label in the form's first language, then English and Bosnian when the form has them
        coalesce(labels[forms.default_language], labels['default'], list_first(map_values(labels)))
            as label,
        list_first(list_filter(map_entries(labels), lambda e: e.key ilike '%(en)' or e.key ilike 'english%')).value
            as label_en,
        list_first(list_filter(map_entries(labels), lambda e: e.key ilike '%(bs)' or e.key ilike 'bosan%')).value
            as label_bs,
        labels
    from questions
    left join forms using (form_id, form_version)
)

select * from final
