-- one row per catalogue indicator: labels and units beside the numbers, registered by the
-- build as _catalogue_in
select * from _catalogue_in
