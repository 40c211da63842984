"""The planning model.

Parameter tables (:mod:`.data`), one sparse matrix (:mod:`.matrix`), and the builder with one
``add_<family>`` per constraint family (:mod:`.build`).
"""
