"""Voita, Sennrich & Titov (2019, EMNLP), The bottom-up evolution of representations in the Transformer: MT, LM and
MLM layer representations compared by mutual information, PWCCA, nearest neighbours and t-SNE."""
