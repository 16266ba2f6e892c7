"""Text classification: fastText (Joulin et al. 2016, "Bag of Tricks for Efficient Text
Classification"; FastText.zip, 2016) rebuilt in torch.

Split like fastText's src/: dictionary (tokens, hashed n-grams), matrix (dense / product-
quantized lookup), losses (softmax, hierarchical softmax, one-vs-all), model, trainer (sparse
SGD, Hogwild), quantizer, metrics, data (parsers + splits), task (CLI).
"""
