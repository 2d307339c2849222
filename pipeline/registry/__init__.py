"""The participant registry: one pseudonymous key per person across every sign-in sheet.

:mod:`pipeline.registry.keys` makes the keys (and the name signatures that find look-alikes
without storing names); :mod:`pipeline.registry.review` lists the uncertain pairs for a person
to decide and records the decisions. See ``README.md`` in this folder for the rules.
"""
