"""Type-ahead: next-word prediction with a Kneser-Ney n-gram, an LSTM and a gated CNN.

    vocab.py     word tokenizer + vocabulary (<unk>), shared by all three models
    data.py      SOTU / Moby-Dick / your own .txt, parsed and split deterministically
    ngram.py     interpolated modified Kneser-Ney (counts in Python/numpy), ARPA export
    softmax.py   adaptive softmax with tied (adaptive-input) embeddings
    lstm.py      word LSTM LM, stateful one step per word
    gcnn.py      gated convolutional LM (Dauphin et al. 2017), fixed causal window
    train.py     the one trainer for the neural models (a generator of Progress)
    models.py    load/save the three models, their inference State
    complete.py  type-ahead: top-k next words, prefix completion, greedy ghost text, sampling
    task.py      the CLI contract (train / eval / predict / bench)
"""
