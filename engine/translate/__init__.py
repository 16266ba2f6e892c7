"""Translation: attention seq2seq (bidirectional GRU encoder, GRU decoder), beam search, BLEU."""
