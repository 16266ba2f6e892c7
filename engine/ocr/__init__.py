"""Check-amount OCR: over-segmentation lattice, a LeNet-5 digit CNN, Viterbi, GTN training.

    data.py       MNIST digits from the registry packages and the fixed held-out rule
    checks.py     the check generator (amounts from one split's digits, touching, slant, noise)
    segment.py    binarize, connected components, cuts → ordered primitive segments
    model.py      the LeNet-5 family recognizer (10 digits, '.', ',', and "not a character")
    graph.py      the recognition lattice, Viterbi decode with alternatives, the GTN loss
    train.py      isolated pre-training, then GTN training; evaluation
    task.py       the CLI contract
"""
