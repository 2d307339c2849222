-- The precision of every survey cell (issue 13): design degrees of freedom, weighted N, design
-- effect, how the interval was made, and why a number is not what it seems. NULL for
-- attendance cells (a register, not a sample).
alter table indicator_values add column if not exists df integer;          -- PSUs minus strata holding the domain
alter table indicator_values add column if not exists n_weighted double;   -- weight of the n people (NULL when suppressed)
alter table indicator_values add column if not exists deff double;         -- design effect (svymean deff = TRUE)
alter table indicator_values add column if not exists ci_method varchar;   -- 'logit' (proportions) or 't' (means), on df
alter table indicator_values add column if not exists note varchar;        -- e.g. 'variance_not_estimable' (se and CI NULL)

-- what may leave the warehouse: n is blanked for suppressed cells
create or replace view indicator_values_published as
select indicator_id, period, dimension, dimension_value, estimate, se, ci_low, ci_high,
    case when suppressed then null else n end as n, suppressed, batch_ids,
    df, n_weighted, deff, ci_method, note
from indicator_values;
