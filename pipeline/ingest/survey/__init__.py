"""Survey ingest: Kobo/ODK exports, XLSForms, SPSS and Stata files -> staging and the survey marts."""
