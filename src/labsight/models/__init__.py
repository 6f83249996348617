"""Models: honest AutoML for small lab tables.

Tasks and metrics (``_task``), the columns a model reads and its preprocessing (``_features``;
SMILES columns as RDKit descriptors in ``_molecules``, also used by :mod:`labsight.design`),
candidate families behind one scikit-learn contract (``_families``, the PyTorch MLP in ``_mlp``),
folds that keep replicates together (``_folds``), the Optuna search inside a time budget
(``_search``, which also scores the trivial baseline on the same folds), what to know before
trusting a model in sentences (``_trust``: grouping, baseline, sibling targets, columns left
out), conformal intervals and explanations (``_conformal``, ``_explain``), clustering
and embeddings (``unsupervised``, which exports ``clustering`` and ``embedding``; the feature
matrix both read is ``_matrix``), and ONNX export (``export``: one graph assembled by
``_onnx_graph`` from pieces converted in ``_onnx_convert`` and nodes written in
``_onnx_layers``). Everything here works on tables and numpy/pandas data; the workspace stores
what it produces.
"""
