"""Weighted finite-state acceptors as torch tensors (gtn and k2 do not install here).

    fsa.py   the Acceptor (states 0..n-1 in topological order, arcs as tensors), a label-sequence
             acceptor, intersection (the constrained graph), trimming
    ops.py   forward score (log semiring, differentiable), Viterbi (tropical) and n-best paths
"""
from engine.lattice.fsa import EPSILON, Acceptor, intersect, linear_chain, trim
from engine.lattice.ops import forward_score, forward_value, nbest, path_labels, path_score, viterbi

__all__ = ["EPSILON", "Acceptor", "intersect", "linear_chain", "trim", "forward_score", "forward_value", "viterbi",
           "nbest", "path_labels", "path_score"]
