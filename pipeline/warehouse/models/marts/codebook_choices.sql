-- one row per form version, choice list and choice, with labels (is_missing: a code the source
-- declares missing, not an answer)
with choices as (
    select * from stg_codebook__choices
),

forms as (
    select form_id, form_version, default_language from survey_forms
),

final as (
    select
        form_id, form_version, list_name, position, choice, coalesce(is_missing, false) as is_missing,
        coalesce(labels[forms.default_language], labels['default'], list_first(map_values(labels)))
            as label,
        list_first(list_filter(map_entries(labels), lambda e: e.key ilike '%(en)' or e.key ilike 'english%')).value
            as label_en,
        list_first(list_filter(map_entries(labels), lambda e: e.key ilike '%(bs)' or e.key ilike 'bosan%')).value
            as label_bs,
        labels
    from choices
    left join forms using (form_id, form_version)
)

select * from final
