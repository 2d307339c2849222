-- one row per survey indicator, wave and gap (women - men, FBiH - RS), registered by the
-- build as _gaps_in
with final as (
    select
        indicator_id, period, dimension, first, second, estimate_first, estimate_second, gap, se,
        cast(df as integer) as df,
        ci_low, ci_high, p_value, significant, suppressed
    from _gaps_in
)

select * from final
