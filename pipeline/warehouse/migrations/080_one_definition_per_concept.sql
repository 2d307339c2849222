-- One definition per concept (issue 15). Youth figures come only from the indicator engine:
-- the mart youth_engagement, which recomputed unique, sustained and young women's counts and
-- the inter-entity share with an age rule of its own, is dropped. Read them from indicator_values (unique_youth,
-- sustained_youth, women_share_youth, inter_entity_share of the project's catalogue).
drop table if exists youth_engagement;

-- Age groups are the project's bands (spsc.yml age_groups): an age outside every band of the
-- participants' populations has no age group (NULL: left out of breakdowns, kept in totals),
-- where it was '<15' or 'unknown' before.
alter table participants alter column age_group drop not null;
