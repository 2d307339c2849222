"""The analyst's cleaning loop: cleaning logs (``cleaningtools`` format) applied between
staging and the marts at every load and build, and checks that draft them."""
