-- one row per survey indicator and dimension value: baseline wave against latest wave,
-- registered by the build as _changes_in
with final as (
    select
        indicator_id, dimension, dimension_value, baseline_period, latest_period,
        baseline_estimate, latest_estimate, change, se, ci_low, ci_high, p_value,
        cast(significant as boolean) as significant,
        suppressed
    from _changes_in
)

select * from final
