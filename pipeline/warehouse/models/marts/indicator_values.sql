-- one row per indicator, period, dimension and dimension value: the engine's estimates
-- (pipeline.indicators.engine), registered by the build as _values_in
with final as (
    select
        indicator_id, period, dimension, dimension_value, estimate, se, ci_low, ci_high, n, suppressed,
        cast(batch_ids as integer[]) as batch_ids,
        cast(df as integer) as df,
        n_weighted,
        deff,
        cast(ci_method as varchar) as ci_method,
        cast(nullif(note, '') as varchar) as note
    from _values_in
)

select * from final
