-- one row: when the indicator marts were built, from which catalogue and threshold
select
    cast($built_at as timestamp) as built_at,
    $fingerprint as fingerprint,
    cast($min_cell as integer) as min_cell,
    cast($n_values as bigint) as n_values,
    cast($n_suppressed as bigint) as n_suppressed
