-- whether any respondent of form $form_id has a second-stage population (fpc2): only then do
-- the cells carry the sums of squared weights a second stage needs
select count(fpc2) > 0 from respondents where form_id = $form_id
