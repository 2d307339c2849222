-- Youth figures come only from the indicator engine (issue 15): the mart youth_engagement,
-- which recomputed unique, sustained and young women's counts and the inter-entity share with
-- an age rule of its own, is dropped. Read them from indicator_values (unique_youth,
-- sustained_youth, women_share_youth, inter_entity_share of the project's catalogue).
drop table if exists youth_engagement;
