"""Models: honest AutoML for small lab tables.

Tasks and metrics (``_task``), the columns a model reads and its preprocessing (``_features``;
SMILES columns as RDKit descriptors in ``_molecules``, also used by :mod:`labsight.design`),
candidate families behind one scikit-learn contract (``_families``, the PyTorch MLP's estimators
in ``_mlp`` and its network, training loop and weights in ``_mlp_net``; for spectra and runs,
PLS in ``_pls``, the 1-D CNN in ``_cnn1d`` and MiniRocket in ``_rocket``), folds that keep
replicates together (``_folds``), the Optuna search inside a time budget (``_search``, judging
the ``Problem`` and ``Candidate`` of ``_candidate``, blending the leaders by greedy ensemble
selection in ``_ensemble`` and holding the winner against the trivial baseline of ``_baseline``
on the same folds), training from a table to a fitted model (``train``, whose refit, intervals,
explanations and their time estimate are ``_finish``), what to know before trusting a model in
sentences (``_trust``: grouping, baseline, sibling targets, columns left out), conformal intervals and explanations (``_conformal``, ``_explain``), clustering
and embeddings (``unsupervised``, which exports ``clustering`` and ``embedding``; the feature
matrix both read is ``_matrix``), autoencoder anomaly scores and denoising (``anomaly`` and
``denoise``, both on the rows rebuilt by ``_reconstruction``, their networks in
``_autoencoder_net``; the autoencoder and PCA compared on hidden values in ``_denoisers``), and ONNX export (``export``: one graph assembled by
``_onnx_graph`` from pieces converted in ``_onnx_convert`` and nodes written in
``_onnx_layers``). Everything here works on tables and numpy/pandas data; the workspace stores
what it produces.
"""
